import { HangarError } from '../errors.js';
import type { ExecService } from '../exec/exec-service.js';
import type { ExecutionResult } from '../exec/result.js';
import type { LanguageRegistry } from '../languages/registry.js';
import { javascriptHarness, parseHarnessOutput, pythonHarness, type Harness } from './harness.js';
import { summarize, type TimingStats } from './stats.js';

export interface BenchmarkRequest {
  code: string;
  language: string;
  iterations: number;
  warmup: number;
  stdin?: string;
  timeoutS?: number;
  signal?: AbortSignal;
}

export interface BenchmarkResult {
  language: string;
  /** in_process: one process, timing inside; repeated_runs: one process per iteration, start-up included. */
  method: 'in_process' | 'repeated_runs';
  status: ExecutionResult['status'];
  iterations: number;
  warmup: number;
  stats: TimingStats | null;
  times_ms: number[];
  /** What the snippet printed (one warm-up's output in process; the first run's otherwise). */
  stdout: string;
  stderr: string;
  error: string | null;
  notes: string[];
}

export interface BenchmarkDeps {
  exec: ExecService;
  languages: LanguageRegistry;
}

export const MAX_ITERATIONS = 10_000;
export const MAX_REPEATED_RUNS = 100;

const ns = (t: number): number => Math.round(t / 1000) / 1000;

function failure(result: ExecutionResult): string {
  if (result.error) return `${result.error.name}: ${result.error.message}`;
  return `exit ${result.exit_code ?? result.signal ?? '?'}${result.stderr ? `: ${result.stderr.trim().split('\n').at(-1) ?? ''}` : ''}`;
}

function harnessFor(language: string, request: BenchmarkRequest): Harness | undefined {
  if (language === 'python') return pythonHarness(request.code, request.iterations, request.warmup, request.stdin);
  // JavaScript reads stdin from a stream that a loop cannot rewind: with stdin, repeated runs.
  if (language === 'javascript' && request.stdin === undefined) return javascriptHarness(request.code, request.iterations, request.warmup);
  return undefined;
}

/** Times a snippet: in one process where the language allows, else one run per iteration. */
export async function benchmarkCode(deps: BenchmarkDeps, request: BenchmarkRequest): Promise<BenchmarkResult> {
  if (!Number.isInteger(request.iterations) || request.iterations < 1 || request.iterations > MAX_ITERATIONS) {
    throw new HangarError('INVALID_ARGUMENT', `iterations must be a whole number from 1 to ${MAX_ITERATIONS}`);
  }
  const { entry } = await deps.languages.resolve(request.language);
  const harness = harnessFor(entry.id, request);
  if (harness) return inProcess(deps, request, entry.id, harness);
  return repeatedRuns(deps, request, entry.id, entry.compile !== undefined);
}

async function inProcess(deps: BenchmarkDeps, request: BenchmarkRequest, language: string, harness: Harness): Promise<BenchmarkResult> {
  const result = await deps.exec.runCode({
    language,
    code: harness.code,
    files: harness.files,
    stdin: language === 'python' ? undefined : request.stdin,
    policy: { timeoutS: request.timeoutS },
    signal: request.signal,
  });
  const parsed = result.status === 'ok' ? parseHarnessOutput(result.stdout, harness.marker) : undefined;
  const base = { language, method: 'in_process' as const, iterations: request.iterations, warmup: request.warmup, stderr: result.stderr };
  if (!parsed) {
    const error = result.status === 'ok' ? 'the harness did not report timings (the snippet may have exited the process)' : failure(result);
    return { ...base, status: result.status === 'ok' ? 'error' : result.status, stats: null, times_ms: [], stdout: result.stdout, error, notes: [] };
  }
  const times = parsed.timesNs.map(ns);
  const notes = [`timed inside one process with a monotonic clock; process start is not measured; output of timed iterations is discarded`];
  if (language === 'javascript' && Object.keys(harness.files).length > 0) notes.push('ES module snippet: each iteration re-imports the module, so parsing is included');
  return { ...base, status: 'ok', stats: summarize(times), times_ms: times, stdout: parsed.output, error: null, notes };
}

async function repeatedRuns(deps: BenchmarkDeps, request: BenchmarkRequest, language: string, compiled: boolean): Promise<BenchmarkResult> {
  if (request.iterations + request.warmup > MAX_REPEATED_RUNS) {
    throw new HangarError('INVALID_ARGUMENT', `${language} is benchmarked with one process per iteration: iterations + warmup is limited to ${MAX_REPEATED_RUNS}`);
  }
  const deadline = request.timeoutS === undefined ? undefined : performance.now() + request.timeoutS * 1000;
  const times: number[] = [];
  let first: ExecutionResult | undefined;
  for (let i = 0; i < request.warmup + request.iterations; i++) {
    const left = deadline === undefined ? undefined : (deadline - performance.now()) / 1000;
    if (left !== undefined && left <= 0) {
      return { language, method: 'repeated_runs', status: 'timeout', iterations: request.iterations, warmup: request.warmup, stats: null, times_ms: [], stdout: first?.stdout ?? '', stderr: first?.stderr ?? '', error: `timed out after ${request.timeoutS} s`, notes: [] };
    }
    const result = await deps.exec.runCode({ language, code: request.code, stdin: request.stdin, policy: { timeoutS: left }, signal: request.signal });
    first ??= result;
    if (result.status !== 'ok') {
      return { language, method: 'repeated_runs', status: result.status, iterations: request.iterations, warmup: request.warmup, stats: null, times_ms: [], stdout: result.stdout, stderr: result.stderr, error: failure(result), notes: [] };
    }
    if (i >= request.warmup) times.push(result.duration_ms);
  }
  return {
    language,
    method: 'repeated_runs',
    status: 'ok',
    iterations: request.iterations,
    warmup: request.warmup,
    stats: summarize(times),
    times_ms: times,
    stdout: first?.stdout ?? '',
    stderr: first?.stderr ?? '',
    error: null,
    notes: [`${language} has no in-process harness: each iteration is a separate run, so times include process start-up${compiled ? ' and compilation' : ''}`],
  };
}
