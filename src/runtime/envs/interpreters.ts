import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HangarError } from '../errors.js';

/** A Python found on this machine, by its real (symlink-free) binary. */
export interface Interpreter {
  /** "3.11.2" */
  version: string;
  /** Real binary path (never a shim or a symlink). */
  path: string;
  /** Where it was found: path, system, pyenv, uv, conda. */
  source: 'path' | 'system' | 'pyenv' | 'uv' | 'conda' | 'explicit';
  implementation: string;
  /** Environments can be made from it (CPython-compatible 3.7+: what the shared pip supports). */
  usable: boolean;
  /** The host default (python3 on PATH, shims skipped). */
  default: boolean;
}

const PYTHON_NAME = /^python3(\.\d+)?$/;
// Works on Python 2 and 3: discovery lists every interpreter, usable or not.
const PROBE = "import sys; sys.stdout.write('%d.%d.%d %s' % (sys.version_info[0], sys.version_info[1], sys.version_info[2], getattr(getattr(sys, 'implementation', None), 'name', 'cpython')))";

/** Shims (pyenv, asdf) re-exec through a shell script: slow, and their answer depends on our cwd and env. */
export function isShimPath(file: string): boolean {
  return /(^|\/)shims(\/|$)/.test(file);
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function pythonsIn(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => PYTHON_NAME.test(n)).map((n) => path.join(dir, n));
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => path.join(dir, e.name));
}

export function probeInterpreter(file: string): Promise<{ version: string; implementation: string } | undefined> {
  return new Promise<{ version: string; implementation: string } | undefined>((resolve) => {
    execFile(file, ['-I', '-c', PROBE], { timeout: 10_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } }, (error, stdout) => {
      const match = /^(\d+\.\d+\.\d+) (\S+)$/.exec(stdout.trim());
      if (error || !match) return resolve(undefined);
      resolve({ version: match[1] ?? '', implementation: match[2] ?? '' });
    });
  });
}

function isUsableVersion(version: string, implementation: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return implementation === 'cpython' && major === 3 && (minor ?? 0) >= 7;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface DiscoveryOptions {
  searchPath: string;
  home?: string;
  hostEnv?: NodeJS.ProcessEnv;
}

/**
 * Finds the Pythons of this machine once per runtime (the answer is cached; `refresh` looks
 * again). Candidates come from PATH (shim directories skipped), /usr/bin, /usr/local/bin, pyenv
 * versions, uv-managed Pythons and conda / micromamba installs; each is resolved to its real binary
 * and asked its version, so two names for one binary are one interpreter.
 */
export class InterpreterFinder {
  private cached: Promise<Interpreter[]> | undefined;

  constructor(private readonly options: DiscoveryOptions) {}

  list(refresh = false): Promise<Interpreter[]> {
    if (!this.cached || refresh) this.cached = this.discover();
    return this.cached;
  }

  private async candidates(): Promise<Array<{ file: string; source: Interpreter['source'] }>> {
    const env = this.options.hostEnv ?? {};
    const home = this.options.home ?? os.homedir();
    const out: Array<{ file: string; source: Interpreter['source'] }> = [];
    const add = (files: string[], source: Interpreter['source']) => files.forEach((file) => out.push({ file, source }));
    for (const dir of this.options.searchPath.split(':')) {
      if (dir && path.isAbsolute(dir) && !isShimPath(dir)) add(await pythonsIn(dir), 'path');
    }
    for (const dir of ['/usr/bin', '/usr/local/bin']) add(await pythonsIn(dir), 'system');
    const pyenvRoot = env.PYENV_ROOT ?? path.join(home, '.pyenv');
    for (const version of await subdirs(path.join(pyenvRoot, 'versions'))) add(await pythonsIn(path.join(version, 'bin')), 'pyenv');
    const uvDir = env.UV_PYTHON_INSTALL_DIR ?? path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'uv', 'python');
    for (const install of await subdirs(uvDir)) add(await pythonsIn(path.join(install, 'bin')), 'uv');
    const condaRoots = [env.CONDA_PREFIX, env.MAMBA_ROOT_PREFIX, '/opt/conda', ...['miniconda3', 'anaconda3', 'miniforge3', 'mambaforge', 'micromamba'].map((d) => path.join(home, d))];
    for (const root of condaRoots) {
      if (!root) continue;
      add(await pythonsIn(path.join(root, 'bin')), 'conda');
      for (const envDir of await subdirs(path.join(root, 'envs'))) add(await pythonsIn(path.join(envDir, 'bin')), 'conda');
    }
    return out;
  }

  private async discover(): Promise<Interpreter[]> {
    const byReal = new Map<string, Interpreter['source']>();
    let defaultReal: string | undefined;
    for (const { file, source } of await this.candidates()) {
      if (!(await isExecutable(file))) continue;
      const real = await realpath(file).catch(() => undefined);
      if (!real || isShimPath(real) || byReal.has(real)) continue;
      byReal.set(real, source);
      if (!defaultReal && source === 'path' && path.basename(file) === 'python3') defaultReal = real;
    }
    const probed = await Promise.all(
      [...byReal].map(async ([file, source]) => {
        const info = await probeInterpreter(file);
        return info ? { file, source, ...info } : undefined;
      }),
    );
    const found: Interpreter[] = [];
    for (const p of probed) {
      if (!p) continue;
      found.push({
        version: p.version,
        path: p.file,
        source: p.source,
        implementation: p.implementation,
        usable: isUsableVersion(p.version, p.implementation),
        default: false,
      });
    }
    const fallbackDefault = found.find((i) => i.usable && i.source !== 'pyenv');
    const chosen = found.find((i) => i.path === defaultReal && i.usable) ?? fallbackDefault ?? found.find((i) => i.usable);
    if (chosen) chosen.default = true;
    return found.sort((a, b) => compareVersions(b.version, a.version) || a.path.localeCompare(b.path));
  }

  /** The interpreter for `python_version`: "3.11", "3.11.7", an absolute path, or undefined for the default. */
  async resolve(request: string | undefined): Promise<Interpreter> {
    const all = await this.list();
    const usable = all.filter((i) => i.usable);
    const unavailable = (why: string): never => {
      const have = usable.map((i) => `${i.version} (${i.path})`).join(', ') || 'none';
      throw new HangarError('PYTHON_VERSION_UNAVAILABLE', `${why}; available: ${have}. Ask for one of these (e.g. "3.11"), or install that Python (pyenv, uv, apt)`);
    };
    if (request === undefined || request === '') {
      return usable.find((i) => i.default) ?? unavailable('no usable Python 3.7+ was found on this machine');
    }
    if (path.isAbsolute(request)) {
      if (request.includes('\0') || request.length > 4096) throw new HangarError('INVALID_ARGUMENT', 'python_version is not a usable path');
      const real = await realpath(request).catch(() => undefined);
      if (!real || !(await isExecutable(real))) unavailable(`"${request.slice(0, 200)}" is not an executable file`);
      const known = all.find((i) => i.path === real);
      if (known) return known.usable ? known : unavailable(`${request.slice(0, 200)} is Python ${known.version}; environments need CPython 3.7 or newer`);
      const info = await probeInterpreter(real as string);
      if (!info) unavailable(`"${request.slice(0, 200)}" did not answer as a Python interpreter`);
      const { version, implementation } = info as { version: string; implementation: string };
      if (!isUsableVersion(version, implementation)) unavailable(`${request.slice(0, 200)} is ${implementation} ${version}; environments need CPython 3.7 or newer`);
      return { version, implementation, path: real as string, source: 'explicit', usable: true, default: false };
    }
    if (!/^\d+\.\d+(\.\d+)?$/.test(request)) {
      throw new HangarError('INVALID_ARGUMENT', `python_version "${request.slice(0, 40)}" is not a version like "3.11" or "3.11.7" or an absolute path to a python binary`);
    }
    const exact = request.split('.').length === 3;
    const matches = usable.filter((i) => (exact ? i.version === request : i.version.startsWith(`${request}.`)));
    // Prefer the host default, then the newest patch release.
    const pick = matches.find((i) => i.default) ?? matches[0];
    return pick ?? unavailable(`Python ${request} is not installed`);
  }
}
