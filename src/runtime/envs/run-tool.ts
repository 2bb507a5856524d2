import type { ContentStore } from '../content/content-store.js';
import type { ExecOutcome } from '../exec/spawn.js';
import { spawnProcess } from '../exec/spawn.js';
import type { CgroupSupport } from '../sandbox/cgroups.js';
import { LineSplitter } from './specs.js';

export interface ToolRunDeps {
  cgroups: CgroupSupport;
  content: ContentStore;
  hostEnv: NodeJS.ProcessEnv;
}

export interface ToolRun {
  outcome: ExecOutcome;
  /** The last lines of output (stdout and stderr interleaved), for error messages. */
  lastLines: string[];
}

/**
 * The environment installers see: the operator's own (so pip's configuration, proxies and
 * certificates apply as they would in a shell), minus Hangar's settings and anything that would
 * make the environment's interpreter load foreign code.
 */
const DROPPED = new Set(['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYTHONDONTWRITEBYTECODE', 'PYTHONSTARTUP']);

export function installerEnv(host: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(host)) {
    // PYTHONDONTWRITEBYTECODE would make the shared pip recompile itself on every install (~0.5 s).
    if (value === undefined || key.startsWith('HANGAR_') || DROPPED.has(key)) continue;
    env[key] = value;
  }
  return { ...env, PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', ...extra };
}

/**
 * Runs an installer (pip, uv, conda) outside the user-code sandbox, through the execution
 * primitive: own process group and cgroup, so a timeout or a cancellation ends pip and every
 * build subprocess it started. Output is split into lines for progress and kept short for errors.
 */
export async function runTool(
  deps: ToolRunDeps,
  request: { command: string[]; cwd: string; timeoutMs: number; signal?: AbortSignal; env?: Record<string, string>; onLine?: (line: string) => void },
): Promise<ToolRun> {
  const lastLines: string[] = [];
  const onLine = (line: string): void => {
    lastLines.push(line);
    if (lastLines.length > 40) lastLines.shift();
    request.onLine?.(line);
  };
  const splitters = { stdout: new LineSplitter(onLine), stderr: new LineSplitter(onLine) };
  const running = await spawnProcess(
    { cgroups: deps.cgroups, content: deps.content },
    {
      command: request.command,
      cwd: request.cwd,
      env: request.env ?? installerEnv(deps.hostEnv),
      limits: { timeoutMs: request.timeoutMs, maxOutputChars: 20_000 },
      signal: request.signal,
      onOutput: (stream, chunk) => splitters[stream].push(chunk),
    },
  );
  const outcome = await running.done;
  splitters.stdout.end();
  splitters.stderr.end();
  return { outcome, lastLines };
}
