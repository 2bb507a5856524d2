import path from 'node:path';
import { buildRunEnvironment } from '../sandbox/environment.js';
import { isWithin } from '../workspaces/safe-path.js';

/** The environment a run belongs to: its interpreter runs Python, its workspace is the working directory. */
export interface RunEnvironment {
  pythonPath: string;
  /** The python env directory (venv or conda prefix): its bin/ goes first on PATH. */
  envPath: string;
  workspacePath: string;
}

/**
 * Where a run's host directories appear to the program: at level isolated, at fixed paths inside
 * the sandbox (no host path leaks in); at level process, where they are. Shared by one-shot runs
 * (ExecService) and background processes, so both name paths the same way.
 */
export interface PathView {
  isolated: boolean;
  /** The path the program sees for a host path inside one of the mounted directories. */
  inside(hostPath: string): string;
}

/** `mounts`: [host directory, path inside] pairs; the first that holds a path wins. */
export function pathView(isolated: boolean, mounts: ReadonlyArray<readonly [string, string]>): PathView {
  return {
    isolated,
    inside(hostPath) {
      if (!isolated) return hostPath;
      for (const [host, inner] of mounts) {
        if (isWithin(host, hostPath)) return path.posix.join(inner, path.relative(host, hostPath));
      }
      return hostPath;
    },
  };
}

/**
 * The variables of a run, naming the paths it sees: HOME and TMPDIR as seen inside, the
 * environment's bin/ first on PATH and VIRTUAL_ENV set (the environment is mounted read-only at its
 * own path, so its host path is also its path inside).
 */
export function viewEnvironment(
  hostEnv: NodeJS.ProcessEnv,
  view: PathView,
  options: { home: string; tmpDir: string; environment?: Pick<RunEnvironment, 'envPath'>; extra?: Record<string, string> },
): Record<string, string> {
  const { environment } = options;
  return buildRunEnvironment(hostEnv, {
    home: view.inside(options.home),
    tmpDir: view.inside(options.tmpDir),
    pathPrefix: environment ? [path.join(environment.envPath, 'bin')] : [],
    extra: { ...(environment ? { VIRTUAL_ENV: environment.envPath } : {}), ...options.extra },
  });
}
