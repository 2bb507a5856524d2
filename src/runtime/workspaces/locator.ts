import { mkdir } from 'node:fs/promises';
import { HangarError } from '../errors.js';
import type { RunEnvironment } from '../exec/run-view.js';

/**
 * What workspaces, processes and jobs need to know about environments: where an environment's
 * workspace is. Kept this small on purpose, so that the environment manager (issue 4) can stand
 * behind it with a one-line change in runtime.ts (see `fromEnvManager`).
 */
export interface WorkspaceLocator {
  /** The workspace directory (created when missing); ENV_NOT_FOUND for an unknown environment. */
  workspacePath(envId: string): Promise<string>;
  /** The environment's python, when it has one. */
  pythonPath?(envId: string): Promise<string | undefined>;
  /** The environment's python env and workspace, for runs in its sandbox (its python first on PATH, mounted read-only). */
  runEnvironment?(envId: string): Promise<RunEnvironment | undefined>;
  /** Runs `listener` before an environment is destroyed (processes of the env are ended there). */
  onBeforeDestroy?(listener: (envId: string) => Promise<void>): void;
}

const ENV_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function checkEnvId(envId: string): void {
  if (!ENV_ID.test(envId)) {
    throw new HangarError('INVALID_ARGUMENT', `env_id "${envId.slice(0, 70)}" is not valid: letters, digits, "_" and "-" (at most 64)`);
  }
}

/** The adapter for the environment manager of issue 4 (its EnvRecord has workspace_path and python_path). */
export function fromEnvManager(envs: {
  get(envId?: string): Promise<{ workspace_path: string; python_path?: string | null; env_path?: string | null }>;
  onBeforeDestroy?(listener: (env: { env_id: string }) => Promise<void>): void;
}): WorkspaceLocator {
  return {
    async workspacePath(envId) {
      checkEnvId(envId);
      const record = await envs.get(envId);
      await mkdir(record.workspace_path, { recursive: true });
      return record.workspace_path;
    },
    async pythonPath(envId) {
      return (await envs.get(envId)).python_path ?? undefined;
    },
    async runEnvironment(envId) {
      const record = await envs.get(envId);
      if (!record.python_path || !record.env_path) return undefined;
      return { pythonPath: record.python_path, envPath: record.env_path, workspacePath: record.workspace_path };
    },
    onBeforeDestroy: envs.onBeforeDestroy ? (listener) => envs.onBeforeDestroy?.((env) => listener(env.env_id)) : undefined,
  };
}
