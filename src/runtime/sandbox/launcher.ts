import type { Limits } from './limits.js';

/**
 * The first program of every run: a POSIX shell (no dependency, ~1 ms) that joins the run's
 * cgroups, sets rlimits, and then execs the real command, so user code starts already inside its
 * limits and no fork can escape the group.
 */
export const LAUNCHER_SHELL = '/bin/sh';

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface LauncherOptions {
  limits: Limits;
  /** cgroup.procs files to join; empty when cgroups are not used. */
  cgroupProcFiles: string[];
  /** Enforce memory and process counts with rlimits (when cgroups cannot). */
  rlimitMemoryAndProcesses: boolean;
  /** Seconds added to the CPU rlimit (when something else enforces the exact limit). */
  cpuSecondsSlack?: number;
}

export function launcherArgv(command: string[], options: LauncherOptions): string[] {
  const { limits } = options;
  const lines: string[] = [];
  for (const file of options.cgroupProcFiles) lines.push(`echo $$ > ${quote(file)} || exit 125`);
  // dash's ulimit counts file size in 512-byte blocks and memory in KiB.
  if (limits.fileSizeBytes !== undefined) lines.push(`ulimit -f ${Math.max(1, Math.floor(limits.fileSizeBytes / 512))}`);
  if (limits.openFiles !== undefined) lines.push(`ulimit -n ${limits.openFiles}`);
  if (limits.cpuSeconds !== undefined) lines.push(`ulimit -t ${Math.max(1, Math.ceil(limits.cpuSeconds)) + (options.cpuSecondsSlack ?? 0)}`);
  // A known stack size (many hosts say unlimited) makes runaway recursion a prompt SIGSEGV, the
  // same on every machine, instead of a slow climb to the memory limit.
  lines.push('ulimit -s 8192 2>/dev/null || true');
  if (options.rlimitMemoryAndProcesses) {
    if (limits.memoryBytes !== undefined) lines.push(`ulimit -v ${Math.floor(limits.memoryBytes / 1024)}`);
    if (limits.maxProcesses !== undefined) lines.push(`ulimit -p ${limits.maxProcesses} 2>/dev/null || true`);
  }
  lines.push('ulimit -c 0');
  lines.push('exec "$@"');
  return [LAUNCHER_SHELL, '-c', lines.join('\n'), 'hangar-run', ...command];
}

/**
 * What a sandbox launched ahead of its run (the warm path) runs inside, before the program: a
 * shell that waits until the run begins (a line on fd 3, written by launchProcess's begin), closes
 * the gate and becomes the program. A gate closed without that line (the standby was discarded)
 * ends it. The program still starts as a fresh process image: nothing of the shell stays.
 */
export const GATE_ARGV = [LAUNCHER_SHELL, '-c', 'read -r _ <&3 || exit 125\nexec 3<&-\nexec "$@"', 'hangar-gate'];
