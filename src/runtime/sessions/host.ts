import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * What sessions need from environments: the Python to run and the workspace to run in.
 */
export interface SessionHost {
  /** Absolute path of the environment's Python interpreter. */
  pythonFor(envId: string): Promise<string>;
  /** The environment's workspace directory (created if needed); ENV_NOT_FOUND when there is no such environment. */
  workspaceFor(envId: string): Promise<string>;
  /** The environment's directory (venv or conda prefix): read-only inside the sandbox, its bin/ first on PATH. */
  envPathFor?(envId: string): Promise<string>;
  /** Extra kernelspec directories of the environment (e.g. <env>/share/jupyter/kernels). */
  kernelDirsFor?(envId: string): Promise<string[]>;
}

/** Sessions run in environments: the environment's interpreter, its workspace, its kernelspecs. */
export function envSessionHost(envs: {
  get(envId?: string): Promise<{ python_path: string; workspace_path: string; env_path: string }>;
}): SessionHost {
  return {
    async pythonFor(envId) {
      return (await envs.get(envId)).python_path;
    },
    async workspaceFor(envId) {
      const record = await envs.get(envId);
      await mkdir(record.workspace_path, { recursive: true });
      return record.workspace_path;
    },
    async envPathFor(envId) {
      return (await envs.get(envId)).env_path;
    },
    async kernelDirsFor(envId) {
      return [path.join((await envs.get(envId)).env_path, 'share', 'jupyter', 'kernels')];
    },
  };
}
