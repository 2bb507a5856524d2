import { z } from 'zod';
import { AppliedSandboxSchema, type AppliedSandbox } from '../sandbox/limits.js';
import type { ExecOutcome } from './spawn.js';

/** The execution result shape of DESIGN.md section 4: success and failure look the same. One schema: the type and the tools' output schema. */
export const ExecutionResultSchema = z.object({
  status: z.enum(['ok', 'error', 'timeout', 'killed', 'cancelled']),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z
    .object({
      stdout_bytes: z.number(),
      stderr_bytes: z.number(),
      /** The first offloaded stream (stdout when it was cut, else stderr). */
      ref_id: z.string(),
      stdout_ref_id: z.string().nullable(),
      stderr_ref_id: z.string().nullable(),
    })
    .nullable()
    .describe('Set when output was cut to head + tail; the whole streams are readable with get_content.'),
  error: z.object({ name: z.string(), message: z.string(), traceback: z.string().nullable() }).nullable(),
  duration_ms: z.number(),
  cpu_ms: z.number().nullable(),
  peak_memory_mb: z.number().nullable(),
  sandbox: AppliedSandboxSchema,
  warnings: z.array(z.string()),
});
export type ExecutionResult = z.infer<typeof ExecutionResultSchema>;

const PY_EXCEPTION = /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration)\w*)(?::\s?(.*))?$/;

/** A Python traceback at the end of stderr becomes `error`; other languages keep it in stderr. */
function pythonError(stderr: string): ExecutionResult['error'] {
  const start = stderr.lastIndexOf('Traceback (most recent call last):');
  if (start < 0) return null;
  const traceback = stderr.slice(start).trimEnd();
  const last = traceback.split('\n').at(-1) ?? '';
  const match = PY_EXCEPTION.exec(last.trim());
  if (!match) return null;
  return { name: match[1] ?? 'Error', message: match[2] ?? '', traceback };
}

export function toExecutionResult(
  outcome: ExecOutcome,
  sandbox: AppliedSandbox,
  warnings: string[],
  language?: string,
): ExecutionResult {
  const { stdout, stderr } = outcome;
  const firstRef = stdout.refId ?? stderr.refId;
  let error: ExecutionResult['error'] = null;
  if (outcome.killReason) {
    const name = outcome.status === 'timeout' ? 'Timeout' : outcome.status === 'cancelled' ? 'Cancelled' : 'Killed';
    error = { name, message: outcome.killReason, traceback: null };
  } else if (outcome.status === 'error' && language === 'python') {
    error = pythonError(stderr.text);
  }
  return {
    status: outcome.status,
    exit_code: outcome.exitCode,
    signal: outcome.signal,
    stdout: stdout.text,
    stderr: stderr.text,
    truncated:
      stdout.truncated || stderr.truncated
        ? {
            stdout_bytes: stdout.totalBytes,
            stderr_bytes: stderr.totalBytes,
            ref_id: firstRef ?? '',
            stdout_ref_id: stdout.refId,
            stderr_ref_id: stderr.refId,
          }
        : null,
    error,
    duration_ms: outcome.durationMs,
    cpu_ms: outcome.cpuMs,
    peak_memory_mb: outcome.peakMemoryMb,
    sandbox: { ...sandbox, enforcement: outcome.enforcement },
    warnings,
  };
}
