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
export interface AppliedSandbox {
  level: 'process' | 'isolated';
  network: 'off' | 'on';
  limits: {
    timeout_s: number;
    memory_mb: number | null;
    cpu_s: number | null;
    max_processes: number | null;
    max_file_mb: number | null;
    max_output_chars: number;
  };
  /** How memory and process limits were enforced. */
  enforcement: 'cgroup' | 'rlimit';
}

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
