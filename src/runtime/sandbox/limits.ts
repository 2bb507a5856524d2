import { z } from 'zod';

/**
 * Resource limits of one run (DESIGN.md section 6). Operator defaults and maximums come from the
 * configuration; a call may only ask for stricter values.
 */
export interface Limits {
  timeoutMs: number;
  memoryBytes?: number;
  cpuSeconds?: number;
  maxProcesses?: number;
  fileSizeBytes?: number;
  openFiles?: number;
  maxOutputChars: number;
}

/** The sandbox actually applied to a run, as reported in results (`sandbox` field). */
export const AppliedSandboxSchema = z.object({
  level: z.enum(['process', 'isolated']),
  network: z.enum(['off', 'on']),
  limits: z.object({
    timeout_s: z.number(),
    memory_mb: z.number().nullable(),
    cpu_s: z.number().nullable(),
    max_processes: z.number().nullable(),
    max_file_mb: z.number().nullable(),
    max_output_chars: z.number(),
  }),
  enforcement: z.enum(['cgroup', 'rlimit']).describe('How memory and process limits were enforced.'),
});
export type AppliedSandbox = z.infer<typeof AppliedSandboxSchema>;

export function describeLimits(limits: Limits): AppliedSandbox['limits'] {
  const mb = (bytes: number | undefined): number | null => (bytes === undefined ? null : Math.round(bytes / 1048576));
  return {
    timeout_s: limits.timeoutMs / 1000,
    memory_mb: mb(limits.memoryBytes),
    cpu_s: limits.cpuSeconds ?? null,
    max_processes: limits.maxProcesses ?? null,
    max_file_mb: mb(limits.fileSizeBytes),
    max_output_chars: limits.maxOutputChars,
  };
}
