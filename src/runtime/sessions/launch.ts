import type { SpawnDeps } from '../exec/spawn.js';
import type { Limits } from '../sandbox/limits.js';

/** Where and how a session's interpreter starts: the same launch path as one-shot runs. */
export interface LaunchContext {
  spawn: SpawnDeps;
  cwd: string;
  env: Record<string, string>;
  /** Process limits; timeoutMs is Infinity (cells are bounded one by one). */
  limits: Limits;
  /** Private directory of this interpreter (ZMQ ipc sockets, connection file); removed after. */
  runDir: string;
}
