import { z } from 'zod';

/** Output shapes of the analysis tools (kept apart so analysis.ts stays about behaviour). */
export const StatsSchema = z.object({ min_ms: z.number(), median_ms: z.number(), mean_ms: z.number(), p95_ms: z.number(), stdev_ms: z.number() });

export const BenchmarkOutput = z.object({
  language: z.string(),
  method: z.enum(['in_process', 'repeated_runs']),
  status: z.enum(['ok', 'error', 'timeout', 'killed', 'cancelled']),
  iterations: z.number().int(),
  warmup: z.number().int(),
  stats: StatsSchema.nullable(),
  times_ms: z.array(z.number()),
  stdout: z.string(),
  stderr: z.string(),
  error: z.string().nullable(),
  notes: z.array(z.string()),
});

export const CompareOutput = z.object({
  language: z.string(),
  checked_against: z.enum(['expected_output', 'agreement', 'nothing']),
  variants: z.array(
    z.object({
      name: z.string(),
      verdict: z.enum(['correct', 'wrong_output', 'disagrees', 'failed', 'timeout', 'killed', 'cancelled']),
      rank: z.number().int().nullable(),
      stats: StatsSchema.nullable(),
      method: z.enum(['in_process', 'repeated_runs']).nullable(),
      stdout: z.string(),
      error: z.string().nullable(),
    }),
  ),
  winner: z.string().nullable(),
  notes: z.array(z.string()),
});

export const AnalyzeOutput = z.object({
  language: z.string(),
  method: z.enum(['python_ast', 'patterns']),
  findings: z.array(z.object({ line: z.number().int(), severity: z.enum(['info', 'warning', 'danger']), rule: z.string(), reason: z.string() })),
  summary: z.string(),
});
