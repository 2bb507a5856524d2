import { constants } from 'node:fs';
import { access, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { HangarError } from '../errors.js';
import { isShimPath, type Interpreter } from './interpreters.js';
import { PIP_COMMON, type PipProvider } from './pip.js';
import { runTool, type ToolRunDeps } from './run-tool.js';
import { verifyVenv, writeVenvLayout } from './venv-layout.js';

export const BACKEND_NAMES = ['venv', 'uv', 'conda', 'micromamba'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface CreateRequest {
  envPath: string;
  base: Interpreter;
  systemSitePackages: boolean;
  signal?: AbortSignal;
  timeoutMs: number;
}

export interface PipInstallRequest {
  python: string;
  base: Interpreter;
  specs: string[];
  upgrade: boolean;
  noDeps: boolean;
  indexUrl?: string;
  extraIndexUrls: string[];
  findLinks: string[];
}

/** Where an environment's interpreter lives inside its python env directory. */
export function envPython(envPath: string): string {
  return path.join(envPath, 'bin', 'python');
}

/**
 * One interface for every kind of Python environment. `venv` is always there (stdlib); `uv`,
 * `conda` and `micromamba` exist when their binary is on PATH. Creation builds the python env at
 * `envPath`; install commands are built here and run by the manager (serialized, cancellable).
 */
export interface EnvBackend {
  readonly name: BackendName;
  /** The backend's program, or undefined when absent from this machine. */
  locate(): Promise<string | undefined>;
  create(request: CreateRequest): Promise<void>;
  pipInstallCommand(request: PipInstallRequest): Promise<string[]>;
  pipUninstallCommand(python: string, base: Interpreter, names: string[]): Promise<string[]>;
}

export async function findProgram(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(':')) {
    if (!dir || !path.isAbsolute(dir) || isShimPath(dir)) continue;
    const file = path.join(dir, name);
    const ok = await access(file, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return realpath(file).catch(() => file);
  }
  return undefined;
}

function pipSourceArgs(request: PipInstallRequest): string[] {
  const args: string[] = [];
  if (request.upgrade) args.push('--upgrade');
  if (request.noDeps) args.push('--no-deps');
  if (request.indexUrl) args.push('--index-url', request.indexUrl);
  for (const url of request.extraIndexUrls) args.push('--extra-index-url', url);
  for (const link of request.findLinks) args.push('--find-links', link);
  return args;
}

/** Installs through the shared pip, run by the environment's own interpreter (see pip.ts). */
class SharedPip {
  constructor(private readonly pips: PipProvider) {}

  async install(request: PipInstallRequest): Promise<string[]> {
    const pip = await this.pips.forInterpreter(request.base.path, request.base.version);
    return [request.python, path.join(pip.dir, 'pip'), 'install', ...PIP_COMMON, '--progress-bar', 'off', '--no-warn-script-location', ...pipSourceArgs(request), ...request.specs];
  }

  async uninstall(python: string, base: Interpreter, names: string[]): Promise<string[]> {
    const pip = await this.pips.forInterpreter(base.path, base.version);
    return [python, path.join(pip.dir, 'pip'), 'uninstall', ...PIP_COMMON, '--yes', ...names];
  }
}

export class VenvBackend implements EnvBackend {
  readonly name = 'venv' as const;
  private readonly pip: SharedPip;
  /** Interpreters whose hand-made venv has been checked once by starting it: later ones are trusted. */
  private readonly verified = new Set<string>();

  constructor(
    pips: PipProvider,
    private readonly deps: ToolRunDeps,
  ) {
    this.pip = new SharedPip(pips);
  }

  locate(): Promise<string | undefined> {
    return Promise.resolve('stdlib venv');
  }

  async create(request: CreateRequest): Promise<void> {
    await writeVenvLayout(request.envPath, request.base, request.systemSitePackages);
    if (this.verified.has(request.base.path)) return;
    if (await verifyVenv(request.envPath, request.base.version)) {
      this.verified.add(request.base.path);
      return;
    }
    // An interpreter whose venv layout differs from CPython's POSIX one: let its venv module decide.
    await rm(request.envPath, { recursive: true, force: true });
    const args = [request.base.path, '-I', '-m', 'venv', '--without-pip', ...(request.systemSitePackages ? ['--system-site-packages'] : []), request.envPath];
    const run = await runTool(this.deps, { command: args, cwd: path.dirname(request.envPath), timeoutMs: request.timeoutMs, signal: request.signal });
    if (run.outcome.status !== 'ok') {
      throw new HangarError('INSTALL_FAILED', `python -m venv failed for ${request.base.path}: ${run.lastLines.slice(-5).join(' | ') || run.outcome.status}`);
    }
  }

  pipInstallCommand(request: PipInstallRequest): Promise<string[]> {
    return this.pip.install(request);
  }

  pipUninstallCommand(python: string, base: Interpreter, names: string[]): Promise<string[]> {
    return this.pip.uninstall(python, base, names);
  }
}

/** uv: `uv venv` to create, `uv pip` to install (uv resolves and installs in one fast binary). */
export class UvBackend implements EnvBackend {
  readonly name = 'uv' as const;

  constructor(
    private readonly searchPath: string,
    private readonly deps: ToolRunDeps,
  ) {}

  locate(): Promise<string | undefined> {
    return findProgram('uv', this.searchPath);
  }

  private async uv(): Promise<string> {
    const uv = await this.locate();
    if (!uv) throw new HangarError('INVALID_ARGUMENT', 'backend "uv" is not available: uv is not on PATH; use backend "venv"');
    return uv;
  }

  async create(request: CreateRequest): Promise<void> {
    const args = [await this.uv(), 'venv', '--quiet', '--python', request.base.path, ...(request.systemSitePackages ? ['--system-site-packages'] : []), request.envPath];
    const run = await runTool(this.deps, { command: args, cwd: path.dirname(request.envPath), timeoutMs: request.timeoutMs, signal: request.signal });
    if (run.outcome.status !== 'ok') throw new HangarError('INSTALL_FAILED', `uv venv failed: ${run.lastLines.slice(-5).join(' | ')}`);
  }

  async pipInstallCommand(request: PipInstallRequest): Promise<string[]> {
    return [await this.uv(), 'pip', 'install', '--python', request.python, ...pipSourceArgs(request), ...request.specs];
  }

  async pipUninstallCommand(python: string, _base: Interpreter, names: string[]): Promise<string[]> {
    return [await this.uv(), 'pip', 'uninstall', '--python', python, ...names];
  }

  /** `uv python install X`: used when a requested version is not on the machine. */
  async installPython(version: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
    const run = await runTool(this.deps, { command: [await this.uv(), 'python', 'install', version], cwd: '/', timeoutMs, signal });
    if (run.outcome.status !== 'ok') throw new HangarError('PYTHON_VERSION_UNAVAILABLE', `uv python install ${version} failed: ${run.lastLines.slice(-3).join(' | ')}`);
  }
}

/**
 * conda / micromamba: the environment is a conda prefix with its own Python from conda's
 * channels; pip packages go through the shared pip like a venv, `use_conda` packages through
 * `<tool> install -p prefix`.
 */
export class CondaBackend implements EnvBackend {
  private readonly pip: SharedPip;

  constructor(
    readonly name: 'conda' | 'micromamba',
    private readonly searchPath: string,
    pips: PipProvider,
    private readonly deps: ToolRunDeps,
  ) {
    this.pip = new SharedPip(pips);
  }

  locate(): Promise<string | undefined> {
    return findProgram(this.name, this.searchPath);
  }

  async program(): Promise<string> {
    const tool = await this.locate();
    if (!tool) throw new HangarError('INVALID_ARGUMENT', `backend "${this.name}" is not available: ${this.name} is not on PATH; use backend "venv"`);
    return tool;
  }

  async create(request: CreateRequest): Promise<void> {
    const [major, minor] = request.base.version.split('.');
    const args = [await this.program(), 'create', '--yes', '--quiet', '--prefix', request.envPath, `python=${major}.${minor}`];
    const run = await runTool(this.deps, { command: args, cwd: path.dirname(request.envPath), timeoutMs: request.timeoutMs, signal: request.signal });
    if (run.outcome.status !== 'ok') throw new HangarError('INSTALL_FAILED', `${this.name} create failed: ${run.lastLines.slice(-5).join(' | ')}`);
  }

  async condaInstallCommand(prefix: string, specs: string[], channels: string[]): Promise<string[]> {
    return [await this.program(), 'install', '--yes', '--prefix', prefix, ...channels.flatMap((c) => ['--channel', c]), ...specs];
  }

  pipInstallCommand(request: PipInstallRequest): Promise<string[]> {
    return this.pip.install(request);
  }

  pipUninstallCommand(python: string, base: Interpreter, names: string[]): Promise<string[]> {
    return this.pip.uninstall(python, base, names);
  }
}
