import { z } from 'zod';
import { analyzeCode, type AnalysisResult } from '../runtime/analysis/analyze.js';
import { benchmarkCode, MAX_ITERATIONS, type BenchmarkResult } from '../runtime/analysis/benchmark.js';
import { compareVariants, MAX_VARIANTS, type CompareResult } from '../runtime/analysis/compare.js';
import { AnalyzeOutput, BenchmarkOutput, CompareOutput } from './analysis-schemas.js';
import { READ_ONLY, RUNS_CODE, defineTool } from './define.js';
import { codeArg, safeString, stdinArg, timeoutArg } from './schemas.js';

const languageArg = safeString('language', 64).describe('A language from list_languages, e.g. python, javascript, c.');
const iterationsArg = z.number().int().min(1).max(MAX_ITERATIONS).default(10).describe('Timed iterations (default 10).');

const ms = (n: number): string => `${n.toFixed(3)} ms`;

export function renderBenchmark(r: BenchmarkResult): string {
  if (!r.stats) return `benchmark ${r.status}: ${r.error ?? 'no timings'}${r.stderr ? `\n[stderr]\n${r.stderr.trimEnd()}` : ''}`;
  const s = r.stats;
  const lines = [
    `${r.language}, ${r.iterations} iterations after ${r.warmup} warm-up (${r.method.replace('_', ' ')})`,
    `min ${ms(s.min_ms)} · median ${ms(s.median_ms)} · mean ${ms(s.mean_ms)} · p95 ${ms(s.p95_ms)} · stdev ${ms(s.stdev_ms)}`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
  if (r.stdout) lines.push(`[output]\n${r.stdout.trimEnd()}`);
  return lines.join('\n');
}

export function renderCompare(r: CompareResult): string {
  const lines = r.variants.map((v) =>
    v.rank !== null && v.stats ? `#${v.rank} ${v.name}: median ${ms(v.stats.median_ms)} (p95 ${ms(v.stats.p95_ms)})` : `-- ${v.name}: ${v.verdict}${v.error ? ` (${v.error})` : ''}`,
  );
  lines.sort();
  return [`checked against ${r.checked_against.replace('_', ' ')}; winner: ${r.winner ?? 'none'}`, ...lines, ...r.notes.map((n) => `note: ${n}`)].join('\n');
}

export function renderAnalysis(r: AnalysisResult): string {
  return [r.summary, ...r.findings.map((f) => `line ${f.line}: [${f.severity}] ${f.rule}: ${f.reason}`)].join('\n');
}

const benchmark = defineTool({
  name: 'benchmark_code',
  title: 'Benchmark code',
  description:
    'Time a snippet over many iterations. Python and JavaScript run all iterations in ONE sandboxed process with the timing taken ' +
    'inside (process start is not measured); other languages run once per iteration and say so in notes. Returns min, median, mean, ' +
    'p95 and stdev in milliseconds, every iteration\'s time, and the output of one warm-up run. timeout_s bounds the whole benchmark.',
  toolset: 'analysis',
  input: z.object({
    code: codeArg,
    language: languageArg.default('python'),
    iterations: iterationsArg,
    warmup: z.number().int().min(0).max(1000).default(1).describe('Untimed iterations first (default 1): imports and caches warm up.'),
    stdin: stdinArg,
    timeout_s: timeoutArg,
  }),
  output: BenchmarkOutput,
  annotations: RUNS_CODE,
  handle: async (args, ctx) => {
    const result = await benchmarkCode(ctx.runtime, { ...args, timeoutS: args.timeout_s, signal: ctx.signal });
    return { structured: result, blocks: [{ type: 'text', text: renderBenchmark(result) }] };
  },
});

const compare = defineTool({
  name: 'compare_variants',
  title: 'Compare variants',
  description:
    'Run several versions of the same program side by side, each in its own sandboxed run, all in parallel; check that their outputs ' +
    'agree with each other (or with expected_output), and rank the correct ones by median time. A variant that fails, disagrees or ' +
    'times out is reported with why and never ranked. Use to choose between implementations with evidence.',
  toolset: 'analysis',
  input: z.object({
    variants: z
      .array(z.object({ name: safeString('a variant name', 64).min(1), code: codeArg }))
      .min(1)
      .max(MAX_VARIANTS)
      .describe(`The versions to compare (1 to ${MAX_VARIANTS}), each with a unique name.`),
    language: languageArg.default('python'),
    stdin: stdinArg,
    expected_output: z.string().max(1_000_000).optional().describe('The output a correct variant prints (trailing whitespace ignored).'),
    iterations: iterationsArg,
    timeout_s: timeoutArg,
  }),
  output: CompareOutput,
  annotations: RUNS_CODE,
  handle: async (args, ctx) => {
    const result = await compareVariants(ctx.runtime, {
      variants: args.variants,
      language: args.language,
      stdin: args.stdin,
      expectedOutput: args.expected_output,
      iterations: args.iterations,
      timeoutS: args.timeout_s,
      signal: ctx.signal,
    });
    return { structured: result, blocks: [{ type: 'text', text: renderCompare(result) }] };
  },
});

const analyze = defineTool({
  name: 'analyze_code',
  title: 'Analyze code',
  description:
    'Static, advisory review of code before running it: findings with line, severity (info | warning | danger), rule and reason for ' +
    'process execution, shells, eval/exec, file writes, network access and native code. Python is parsed with its ast module; other ' +
    'languages are matched by pattern. Never blocks a run; does not execute the code.',
  toolset: 'analysis',
  input: z.object({ code: codeArg, language: languageArg.default('python') }),
  output: AnalyzeOutput,
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const result = await analyzeCode(ctx.runtime, args.code, args.language, ctx.signal);
    return { structured: result, blocks: [{ type: 'text', text: renderAnalysis(result) }] };
  },
});

export const analysisTools = [benchmark, compare, analyze];
