/**
 * The environment a run sees: built from nothing, never inherited whole, so no HANGAR_* setting,
 * auth token or operator secret reaches user code.
 */
const PASSED_THROUGH = ['LANG', 'LC_ALL', 'TZ'] as const;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunEnvironmentOptions {
  home: string;
  tmpDir: string;
  /** Directories put before the system PATH (an environment's bin, toolchains). */
  pathPrefix?: string[];
  extra?: Record<string, string>;
}

export function buildRunEnvironment(host: NodeJS.ProcessEnv, options: RunEnvironmentOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: [...(options.pathPrefix ?? []), DEFAULT_PATH].join(':'),
    HOME: options.home,
    TMPDIR: options.tmpDir,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONIOENCODING: 'utf-8',
    MPLBACKEND: 'Agg',
    NO_COLOR: '1',
  };
  for (const key of PASSED_THROUGH) {
    const value = host[key];
    if (value) env[key] = value;
  }
  return { ...env, ...options.extra };
}
