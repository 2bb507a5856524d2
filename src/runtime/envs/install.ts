import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { abortError, HangarError } from '../errors.js';
import type { EnvBackend, PipInstallRequest } from './backends.js';
import type { Interpreter } from './interpreters.js';
import { diffPackages, isEmptyDiff, scanPackages, sitePackages, type InstalledPackage, type PackageDiff } from './packages.js';
import type { EnvRecord } from './record.js';
import { runTool, type ToolRunDeps } from './run-tool.js';
import { parseInstallerLine, type InstallStep } from './specs.js';

export interface PackageSources {
  indexUrl?: string;
  extraIndexUrls: string[];
  findLinks: string[];
}

export interface InstallOptions {
  upgrade?: boolean;
  /** Install exactly these pins, nothing else (restore). */
  noDeps?: boolean;
  sources: PackageSources;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (step: InstallStep, count: number) => void;
}

export interface InstallOutcome {
  changes: PackageDiff;
  packages: InstalledPackage[];
  /** The installer's last lines (e.g. "Successfully installed …"). */
  log: string[];
}

/**
 * One install into one environment (the caller holds the environment's lock).
 *
 * What guarantees "a failed install leaves the environment as it was": pip resolves, downloads
 * and builds *everything* before it changes anything, so the common failures (unknown package,
 * conflict, network, a build error) change nothing. A failure inside the install phase itself
 * (a broken wheel, disk full, a timeout or cancellation mid-install) can leave some packages
 * installed or upgraded: the installed set is snapshotted from the metadata before the run and
 * compared after it, and any difference is rolled back (new packages uninstalled, changed or
 * removed ones reinstalled at their old version with --no-deps from the same sources). The error
 * says which of these happened, and whether the rollback restored the snapshot exactly.
 */
export async function installInto(
  env: EnvRecord,
  backend: EnvBackend,
  base: Interpreter,
  specs: string[],
  options: InstallOptions,
  deps: ToolRunDeps,
  command?: string[],
): Promise<InstallOutcome> {
  const site = sitePackages(env.env_path, env.python_version);
  const before = await scanPackages(site);
  const entriesBefore = await topLevelEntries(env);
  const request: PipInstallRequest = {
    python: env.python_path,
    base,
    specs,
    upgrade: options.upgrade ?? false,
    noDeps: options.noDeps ?? false,
    indexUrl: options.sources.indexUrl,
    extraIndexUrls: options.sources.extraIndexUrls,
    findLinks: options.sources.findLinks,
  };
  let steps = 0;
  const run = await runTool(deps, {
    command: command ?? (await backend.pipInstallCommand(request)),
    cwd: path.dirname(env.env_path),
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onLine: (line) => {
      const step = parseInstallerLine(line);
      if (step) options.onProgress?.(step, ++steps);
    },
  });
  const after = await scanPackages(site);
  const changes = diffPackages(before, after);
  if (run.outcome.status === 'ok') return { changes, packages: after, log: run.lastLines.slice(-5) };

  const state = isEmptyDiff(changes) ? 'the environment is unchanged' : await rollback(env, backend, base, before, entriesBefore, changes, options.sources, deps);
  if (run.outcome.status === 'cancelled' && options.signal?.aborted) {
    const error = abortError(options.signal);
    throw new HangarError(error.code, `install cancelled; ${state}`);
  }
  const why = run.outcome.status === 'timeout' ? `timed out after ${options.timeoutMs / 1000} s` : `exited with ${run.outcome.exitCode ?? run.outcome.signal ?? run.outcome.status}`;
  const tail = run.lastLines.slice(-15).join('\n');
  throw new HangarError('INSTALL_FAILED', `the installer ${why}; ${state}. Its last lines:\n${tail}`);
}

async function rollback(
  env: EnvRecord,
  backend: EnvBackend,
  base: Interpreter,
  before: InstalledPackage[],
  entriesBefore: Set<string>,
  changes: PackageDiff,
  sources: PackageSources,
  deps: ToolRunDeps,
): Promise<string> {
  const cwd = path.dirname(env.env_path);
  const timeoutMs = 300_000;
  const steps: string[][] = [];
  const toRemove = [...changes.added.map((p) => p.name), ...changes.changed.map((c) => c.name)];
  if (toRemove.length > 0) steps.push(await backend.pipUninstallCommand(env.python_path, base, toRemove));
  const toRestore = [...changes.changed.map((c) => `${c.name}==${c.from}`), ...changes.removed.map((p) => `${p.name}==${p.version}`)];
  if (toRestore.length > 0) {
    steps.push(
      await backend.pipInstallCommand({ python: env.python_path, base, specs: toRestore, upgrade: false, noDeps: true, ...sources, indexUrl: sources.indexUrl }),
    );
  }
  const [uninstall, reinstall] = [toRemove.length > 0 ? steps.shift() : undefined, steps.shift()];
  if (uninstall) await runTool(deps, { command: uninstall, cwd, timeoutMs });
  // A half-installed package may have no RECORD for pip to uninstall by: whatever the failed run
  // created at the top of site-packages or bin/ (and pip did not remove) goes too.
  for (const entry of await topLevelEntries(env)) if (!entriesBefore.has(entry)) await rm(entry, { recursive: true, force: true });
  if (reinstall) await runTool(deps, { command: reinstall, cwd, timeoutMs });
  const now = await scanPackages(sitePackages(env.env_path, env.python_version));
  const left = diffPackages(before, now);
  if (isEmptyDiff(left)) return `the partial changes were rolled back and the environment is as it was (${describe(changes)})`;
  return `WARNING: the environment was changed (${describe(changes)}) and could not be fully rolled back (still differs: ${describe(left)}); reinstall those packages or recreate the environment`;
}

async function topLevelEntries(env: EnvRecord): Promise<Set<string>> {
  const dirs = [sitePackages(env.env_path, env.python_version), path.join(env.env_path, 'bin')];
  const lists = await Promise.all(dirs.map(async (dir) => (await readdir(dir).catch(() => [] as string[])).map((name) => path.join(dir, name))));
  return new Set(lists.flat());
}

function describe(diff: PackageDiff): string {
  const parts = [
    ...diff.added.map((p) => `+${p.name} ${p.version}`),
    ...diff.removed.map((p) => `-${p.name} ${p.version}`),
    ...diff.changed.map((c) => `${c.name} ${c.from}→${c.to}`),
  ];
  return parts.join(', ');
}
