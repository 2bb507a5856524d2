import { HangarError } from '../errors.js';
import { benchmarkCode, type BenchmarkDeps, type BenchmarkResult } from './benchmark.js';
import type { TimingStats } from './stats.js';

/**
 * The honest form of "quantum debugging": every variant runs in its own sandboxed run, all in
 * parallel; a variant counts only if it succeeded and its output matches expected_output (or, with
 * none given, the output most variants agree on). Correct variants are ranked by median time;
 * the others are reported with why, never ranked.
 */
export interface Variant {
  name: string;
  code: string;
}

export interface CompareRequest {
  variants: Variant[];
  language: string;
  stdin?: string;
  expectedOutput?: string;
  iterations: number;
  timeoutS?: number;
  signal?: AbortSignal;
}

export type VariantVerdict = 'correct' | 'wrong_output' | 'disagrees' | 'failed' | 'timeout' | 'killed' | 'cancelled';

export interface VariantReport {
  name: string;
  verdict: VariantVerdict;
  /** 1 for the fastest correct variant; null when not ranked. */
  rank: number | null;
  stats: TimingStats | null;
  method: BenchmarkResult['method'] | null;
  stdout: string;
  error: string | null;
}

export interface CompareResult {
  language: string;
  checked_against: 'expected_output' | 'agreement' | 'nothing';
  variants: VariantReport[];
  winner: string | null;
  notes: string[];
}

export const MAX_VARIANTS = 10;

/** Outputs compare without trailing whitespace on lines and at the end: print styles differ there. */
export function normalizeOutput(text: string): string {
  return text.replace(/\r\n/g, '\n').split('\n').map((l) => l.trimEnd()).join('\n').trimEnd();
}

export async function compareVariants(deps: BenchmarkDeps, request: CompareRequest): Promise<CompareResult> {
  const names = new Set<string>();
  for (const v of request.variants) {
    if (names.has(v.name)) throw new HangarError('INVALID_ARGUMENT', `variant name "${v.name}" is used twice; give each variant its own name`);
    names.add(v.name);
  }
  if (request.variants.length < 1 || request.variants.length > MAX_VARIANTS) {
    throw new HangarError('INVALID_ARGUMENT', `compare 1 to ${MAX_VARIANTS} variants (got ${request.variants.length})`);
  }
  await deps.languages.resolve(request.language);
  const runs = await Promise.all(
    request.variants.map((v) =>
      benchmarkCode(deps, { code: v.code, language: request.language, iterations: request.iterations, warmup: 1, stdin: request.stdin, timeoutS: request.timeoutS, signal: request.signal }).catch(
        (error: unknown) => error as Error,
      ),
    ),
  );
  const reports: VariantReport[] = request.variants.map((v, i) => {
    const run = runs[i];
    if (!run || run instanceof Error) return { name: v.name, verdict: 'failed', rank: null, stats: null, method: null, stdout: '', error: run?.message ?? 'not run' };
    const verdict: VariantVerdict = run.status === 'ok' ? 'correct' : run.status === 'error' ? 'failed' : run.status;
    return { name: v.name, verdict, rank: null, stats: run.stats, method: run.method, stdout: run.stdout, error: run.error };
  });

  const notes: string[] = [];
  const succeeded = reports.filter((r) => r.verdict === 'correct');
  let checked: CompareResult['checked_against'] = 'nothing';
  if (request.expectedOutput !== undefined) {
    checked = 'expected_output';
    const expected = normalizeOutput(request.expectedOutput);
    for (const r of succeeded) if (normalizeOutput(r.stdout) !== expected) r.verdict = 'wrong_output';
  } else if (succeeded.length > 1) {
    checked = 'agreement';
    const groups = new Map<string, VariantReport[]>();
    for (const r of succeeded) groups.set(normalizeOutput(r.stdout), [...(groups.get(normalizeOutput(r.stdout)) ?? []), r]);
    const sizes = [...groups.values()].map((g) => g.length).sort((a, b) => b - a);
    const tie = sizes.length > 1 && sizes[0] === sizes[1];
    for (const group of groups.values()) {
      if (tie || group.length !== sizes[0]) for (const r of group) r.verdict = 'disagrees';
    }
    if (tie) notes.push('the variants disagree and no output is shared by a majority: none is ranked; pass expected_output to decide');
  } else if (succeeded.length === 1) {
    notes.push('only one variant succeeded and no expected_output was given: its output is unchecked');
  }

  const ranked = reports.filter((r) => r.verdict === 'correct' && r.stats).sort((a, b) => (a.stats?.median_ms ?? 0) - (b.stats?.median_ms ?? 0));
  ranked.forEach((r, i) => (r.rank = i + 1));
  const fastest = ranked[0];
  const second = ranked[1];
  if (fastest?.stats && second?.stats && fastest.stats.median_ms > 0) {
    notes.push(`${fastest.name} is ${(second.stats.median_ms / fastest.stats.median_ms).toFixed(2)}× faster than ${second.name} by median`);
  }
  return { language: request.language, checked_against: checked, variants: reports, winner: fastest?.name ?? null, notes };
}
