import { findSandboxedProgram } from '../exec/procfs.js';
import { spawnProcess, type OutputListener, type RunningProcess, type SpawnDeps } from '../exec/spawn.js';
import type { Limits } from '../sandbox/limits.js';

/** Where and how a session's interpreter starts: the same launch path as one-shot runs. */
export interface LaunchContext {
  spawn: SpawnDeps;
  /** The host directory the interpreter works in (the environment's workspace). */
  cwd: string;
  env: Record<string, string>;
  /** Process limits; timeoutMs is Infinity (cells are bounded one by one). */
  limits: Limits;
  /** Private host directory of this interpreter (ZMQ ipc sockets, connection file); removed after. */
  runDir: string;
  /** Level isolated: the interpreter runs inside bubblewrap (own pid namespace, fixed paths). */
  isolated: boolean;
  /** The path the interpreter sees for a host path (workspace, run directory, drivers). */
  inside(hostPath: string): string;
  /** How `command` runs with exactly `env` at the session's level (at level isolated, bubblewrap's options go through its args pipe). */
  wrap(command: string[], env: Record<string, string>): { command: string[]; argsPipe?: Buffer };
}

/**
 * A started interpreter process and how to reach the interpreter itself. At level isolated the
 * spawned process is bubblewrap: the interpreter is pid 2 of its pid namespace, in the process
 * group bubblewrap's init leads, so signals go there and not to bubblewrap's own group.
 */
export interface InterpreterProcess {
  running: RunningProcess;
  /** Host pid of the interpreter (not of bubblewrap): for peak memory and repl_list. */
  pid: number;
  /** Signals the interpreter's process group (the interpreter and the children it did not detach). */
  signal(signal: NodeJS.Signals): void;
}

export async function startInterpreterProcess(
  launch: LaunchContext,
  command: string[],
  env: Record<string, string>,
  options: { extraPipes: number; onOutput?: OutputListener },
): Promise<{ running: RunningProcess; locate(): Promise<InterpreterProcess> }> {
  const wrapped = launch.wrap(command, env);
  const running = await spawnProcess(launch.spawn, {
    command: wrapped.command,
    argsPipe: wrapped.argsPipe,
    cwd: launch.cwd,
    env,
    limits: launch.limits,
    interactive: { extraPipes: options.extraPipes },
    onOutput: options.onOutput,
    // bubblewrap reports a program killed by signal N as exit code 128 + N.
    signalAsExitCode: launch.isolated,
  });
  const direct: InterpreterProcess = { running, pid: running.pid, signal: (sig) => running.signalGroup(sig) };
  /** Call once the interpreter has answered (it exists by then). */
  const locate = async (): Promise<InterpreterProcess> => {
    if (!launch.isolated) return direct;
    const found = await findSandboxedProgram(running.pid);
    if (!found) return direct;
    return {
      running,
      pid: found.pid,
      signal(sig) {
        for (const target of [-found.group, found.pid]) {
          try {
            process.kill(target, sig);
            return;
          } catch {
            // Group gone: try the interpreter alone; gone too: its end is reported by `died`.
          }
        }
      },
    };
  };
  return { running, locate };
}
