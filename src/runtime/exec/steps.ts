import type { Limits } from '../sandbox/limits.js';
import type { ExecOutcome } from './spawn.js';

/**
 * A run is one or two steps: compile (for compiled languages), then the program. Both go through
 * spawnProcess with the run's limits, working directory and environment, and share one deadline:
 * the compile counts in the run's time. A failed compile is the run's result (status "error", the
 * compiler's message in stderr); the program then does not start.
 */
export interface Step {
  phase: 'compile' | 'run';
  command: string[];
  stdin?: string;
}

export type StartStep = (step: Step, limits: Limits) => Promise<ExecOutcome>;

export interface StepsOutcome {
  outcome: ExecOutcome;
  warnings: string[];
}

const COMPILER_NOTE_CHARS = 4000;

function emptyOutcome(status: ExecOutcome['status'], reason: string, enforcement: ExecOutcome['enforcement']): ExecOutcome {
  const none = { text: '', totalBytes: 0, truncated: false, refId: null };
  return { status, exitCode: null, signal: null, stdout: none, stderr: none, durationMs: 0, cpuMs: null, peakMemoryMb: null, killReason: reason, enforcement };
}

function addNullable(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : Math.round(((a ?? 0) + (b ?? 0)) * 100) / 100;
}

export async function runSteps(steps: Step[], limits: Limits, start: StartStep): Promise<StepsOutcome> {
  const warnings: string[] = [];
  const deadline = performance.now() + limits.timeoutMs;
  let previous: ExecOutcome | undefined;
  for (const step of steps) {
    const remaining = Math.floor(deadline - performance.now());
    const timeoutText = `timed out after ${limits.timeoutMs / 1000} s`;
    if (remaining <= 0) return { outcome: emptyOutcome('timeout', `${timeoutText} (while compiling)`, previous?.enforcement ?? 'rlimit'), warnings };
    const outcome = await start(step, { ...limits, timeoutMs: remaining });
    const merged: ExecOutcome = previous
      ? {
          ...outcome,
          durationMs: Math.round((previous.durationMs + outcome.durationMs) * 100) / 100,
          cpuMs: addNullable(previous.cpuMs, outcome.cpuMs),
          peakMemoryMb: previous.peakMemoryMb === null ? outcome.peakMemoryMb : Math.max(previous.peakMemoryMb, outcome.peakMemoryMb ?? 0),
        }
      : outcome;
    // The step's own timer knew only the remaining time; the caller asked for the whole.
    if (merged.status === 'timeout') merged.killReason = `${timeoutText}${step.phase === 'compile' ? ' (while compiling)' : ''}`;
    if (step.phase === 'compile') {
      if (merged.status !== 'ok') {
        if (merged.status === 'error') warnings.push('compilation failed: the program did not run (compiler message in stderr)');
        return { outcome: merged, warnings };
      }
      const note = (outcome.stderr.text + outcome.stdout.text).trim();
      if (note) warnings.push(`compiler: ${note.length > COMPILER_NOTE_CHARS ? `${note.slice(0, COMPILER_NOTE_CHARS)} …` : note}`);
    }
    previous = merged;
  }
  return { outcome: previous ?? emptyOutcome('error', 'nothing to run', 'rlimit'), warnings };
}

/** The result of a source that never reached a process (TypeScript syntax error). */
export function rejectedSource(stderr: string, enforcement: ExecOutcome['enforcement']): ExecOutcome {
  const outcome = emptyOutcome('error', '', enforcement);
  return { ...outcome, killReason: null, stderr: { text: stderr, totalBytes: Buffer.byteLength(stderr), truncated: false, refId: null } };
}
