import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { driverPath } from '../drivers.js';
import { HangarError } from '../errors.js';
import { patternRules, type Severity } from './patterns.js';
import type { BenchmarkDeps } from './benchmark.js';

/**
 * analyze_code: findings an agent (or a person) should look at before running code. Advisory: no
 * run is ever refused because of them. Python is parsed with its own `ast` module, inside a
 * sandboxed run (a hostile source cannot hurt the server); other languages are matched by pattern.
 */
export interface Finding {
  line: number;
  severity: Severity;
  rule: string;
  reason: string;
}

export interface AnalysisResult {
  language: string;
  method: 'python_ast' | 'patterns';
  findings: Finding[];
  summary: string;
}

const FindingSchema = z.object({ line: z.number().int(), severity: z.enum(['info', 'warning', 'danger']), rule: z.string(), reason: z.string() });
const DriverOutput = z.object({ findings: z.array(FindingSchema) });

function summarize(findings: Finding[]): string {
  if (findings.length === 0) return 'no findings';
  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length;
  return `${findings.length} finding${findings.length === 1 ? '' : 's'}: ${count('danger')} danger, ${count('warning')} warning, ${count('info')} info (advisory)`;
}

function byPattern(code: string, language: string): Finding[] {
  const rules = patternRules(language);
  const findings: Finding[] = [];
  code.split('\n').forEach((text, index) => {
    for (const rule of rules) if (rule.pattern.test(text)) findings.push({ line: index + 1, severity: rule.severity, rule: rule.rule, reason: rule.reason });
  });
  return findings;
}

async function byPythonAst(deps: BenchmarkDeps, code: string, signal?: AbortSignal): Promise<Finding[]> {
  const driver = await readFile(driverPath('analyze_python.py'), 'utf8');
  const result = await deps.exec.runCode({ language: 'python', code: driver, stdin: code, policy: { timeoutS: 30 }, signal });
  if (result.status !== 'ok') {
    throw new HangarError('INTERNAL', `the Python analyser did not finish (${result.status}: ${result.error?.message ?? result.stderr.slice(-300)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(result.stdout);
  } catch {
    raw = undefined;
  }
  const parsed = DriverOutput.safeParse(raw);
  if (!parsed.success) throw new HangarError('INTERNAL', 'the Python analyser printed an unexpected shape');
  return parsed.data.findings;
}

export async function analyzeCode(deps: BenchmarkDeps, code: string, language: string, signal?: AbortSignal): Promise<AnalysisResult> {
  const entry = deps.languages.lookup(language);
  if (!entry) throw new HangarError('INVALID_ARGUMENT', `"${language.slice(0, 40)}" is not a known language; known: ${deps.languages.entries().map((e) => e.id).join(', ')}`);
  if (entry.id === 'python') {
    const findings = await byPythonAst(deps, code, signal);
    return { language: entry.id, method: 'python_ast', findings, summary: summarize(findings) };
  }
  const findings = byPattern(code, entry.id);
  return { language: entry.id, method: 'patterns', findings, summary: summarize(findings) };
}
