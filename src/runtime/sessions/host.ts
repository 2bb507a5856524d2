import { mkdir, stat } from 'node:fs/promises';
import { HangarError } from '../errors.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { DataLayout } from '../store/layout.js';
import path from 'node:path';

/**
 * What sessions need from environments: the Python to run and the workspace to run in. The
 * environment manager implements this when it lands; until then MinimalSessionHost stands in.
 */
export interface SessionHost {
  /** Absolute path of the environment's Python interpreter. */
  pythonFor(envId: string): Promise<string>;
  /** The environment's workspace directory (created if needed); ENV_NOT_FOUND when there is no such environment. */
  workspaceFor(envId: string): Promise<string>;
  /** Extra kernelspec directories of the environment (e.g. <env>/share/jupyter/kernels). */
  kernelDirsFor?(envId: string): Promise<string[]>;
}

/** The host's Python and `<data>/envs/<env_id>/workspace`; only `default` exists until environments land. */
export class MinimalSessionHost implements SessionHost {
  constructor(
    private readonly layout: DataLayout,
    private readonly languages: LanguageRegistry,
  ) {}

  private async check(envId: string): Promise<void> {
    if (envId === 'default') return;
    const exists = await stat(this.layout.env(envId)).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!exists) throw new HangarError('ENV_NOT_FOUND', `environment "${envId}" does not exist; use env_id "default" or create it first`);
  }

  async pythonFor(envId: string): Promise<string> {
    await this.check(envId);
    return (await this.languages.resolve('python')).tool;
  }

  async workspaceFor(envId: string): Promise<string> {
    await this.check(envId);
    const dir = path.join(this.layout.env(envId), 'workspace');
    await mkdir(dir, { recursive: true });
    return dir;
  }
}
