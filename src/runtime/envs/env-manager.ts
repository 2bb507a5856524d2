import { access, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { HangarError } from '../errors.js';
import { isWellFormedId, newId } from '../ids.js';
import type { Logger } from '../logger.js';
import { KeyedMutex } from '../store/keyed-mutex.js';
import type { DataLayout } from '../store/layout.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { BACKEND_NAMES, CondaBackend, envPython, UvBackend, VenvBackend, type BackendName, type EnvBackend } from './backends.js';
import { installInto, type InstallOptions, type InstallOutcome, type PackageSources } from './install.js';
import { InterpreterFinder, type Interpreter } from './interpreters.js';
import { scanPackages, sitePackages, type InstalledPackage } from './packages.js';
import { PipProvider } from './pip.js';
import { ENV_RECORD, FROZEN_FORMAT, FROZEN_VERSION, FrozenEnvSchema, type EnvRecord, type FrozenEnv } from './record.js';
import type { ToolRunDeps } from './run-tool.js';
import { parseRequirements, validateFindLinks, validateIndexUrl, validateSpec, validateSpecs } from './specs.js';

export const DEFAULT_ENV = 'default';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type EnvStatus = 'ok' | 'broken';
export interface EnvListing extends EnvRecord {
  status: EnvStatus;
  /** Why the environment is broken; null when ok. */
  problem: string | null;
}

export interface CreateOptions {
  name: string;
  pythonVersion?: string;
  systemSitePackages?: boolean;
  backend?: BackendName;
  signal?: AbortSignal;
}

export interface PackageRequest {
  upgrade?: boolean;
  useConda?: boolean;
  indexUrl?: string;
  extraIndexUrl?: string[];
  findLinks?: string[];
  timeoutS?: number;
  signal?: AbortSignal;
  onProgress?: InstallOptions['onProgress'];
}

export type BeforeDestroyListener = (env: EnvRecord) => Promise<void> | void;

export interface EnvManagerDeps extends ToolRunDeps {
  config: Config;
  layout: DataLayout;
  logger: Logger;
}

/**
 * Python environments (DESIGN.md section 3): `<data>/envs/<env_id>/` holds env.json, the python
 * env (venv/ or a conda prefix) and the workspace. `default` is made on first use. Installs into
 * one environment are serialized; everything else runs in parallel.
 */
export class EnvManager {
  readonly interpreters: InterpreterFinder;
  private readonly backends: Record<BackendName, EnvBackend>;
  private readonly lock = new KeyedMutex();
  private readonly records = new Map<string, EnvRecord>();
  private readonly installs = new Map<string, Set<AbortController>>();
  private readonly beforeDestroy = new Set<BeforeDestroyListener>();

  constructor(private readonly deps: EnvManagerDeps) {
    const searchPath = deps.hostEnv.PATH ?? '/usr/bin:/bin';
    this.interpreters = new InterpreterFinder({ searchPath, hostEnv: deps.hostEnv, home: deps.hostEnv.HOME });
    const pips = new PipProvider(path.join(deps.layout.cache, 'pip'));
    this.backends = {
      venv: new VenvBackend(pips, deps),
      uv: new UvBackend(searchPath, deps),
      conda: new CondaBackend('conda', searchPath, pips, deps),
      micromamba: new CondaBackend('micromamba', searchPath, pips, deps),
    };
  }

  /** Later features (processes, sessions) end what runs in an environment before it is removed. */
  onBeforeDestroy(listener: BeforeDestroyListener): () => void {
    this.beforeDestroy.add(listener);
    return () => this.beforeDestroy.delete(listener);
  }

  async availableBackends(): Promise<Array<{ name: BackendName; program: string | null }>> {
    const out = await Promise.all(BACKEND_NAMES.map(async (name) => ({ name, program: (await this.backends[name].locate()) ?? null })));
    return out.filter((b) => b.program !== null);
  }

  private envDir(envId: string): string {
    return this.deps.layout.env(envId);
  }

  private recordFile(envId: string): string {
    return path.join(this.envDir(envId), 'env.json');
  }

  private async readRecord(envId: string): Promise<EnvRecord | undefined> {
    const cached = this.records.get(envId);
    if (cached) return cached;
    const record = await ENV_RECORD.read(this.recordFile(envId));
    if (record) this.records.set(envId, record);
    return record;
  }

  private async problemOf(record: EnvRecord): Promise<string | null> {
    const missing = async (p: string) => access(p).then(() => false, () => true);
    // Checked on every run in the environment: both at once.
    const [noPython, noWorkspace] = await Promise.all([missing(record.python_path), missing(record.workspace_path)]);
    if (noPython) return `its interpreter ${record.python_path} is gone`;
    if (noWorkspace) return `its workspace ${record.workspace_path} is gone`;
    return null;
  }

  private async ids(): Promise<string[]> {
    const entries = await readdir(this.deps.layout.envs, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && (e.name === DEFAULT_ENV || isWellFormedId(e.name))).map((e) => e.name);
  }

  async list(): Promise<EnvListing[]> {
    const out: EnvListing[] = [];
    for (const id of await this.ids()) {
      let record: EnvRecord | undefined;
      try {
        record = await this.readRecord(id);
      } catch (error) {
        this.deps.logger.warn('unreadable environment record', { env_id: id, error: String(error) });
        continue;
      }
      if (!record) continue;
      const problem = await this.problemOf(record);
      out.push({ ...record, status: problem ? 'broken' : 'ok', problem });
    }
    return out.sort((a, b) => (a.env_id === DEFAULT_ENV ? -1 : b.env_id === DEFAULT_ENV ? 1 : a.created_at.localeCompare(b.created_at)));
  }

  private async notFound(envId: string): Promise<never> {
    const existing = (await this.list()).map((e) => (e.name === e.env_id ? e.env_id : `${e.env_id} (${e.name})`));
    const shown = envId.length > 64 ? `${envId.slice(0, 64)}…` : envId;
    throw new HangarError('ENV_NOT_FOUND', `environment "${shown}" does not exist; existing: ${existing.join(', ') || 'none'} (default is created on first use; create_environment makes others)`);
  }

  /** An environment ready to use, by id (or unique name); `default` is made on first use, and remade if broken. */
  async get(envId: string = DEFAULT_ENV): Promise<EnvRecord> {
    let id = envId;
    if (id !== DEFAULT_ENV && !isWellFormedId(id)) {
      const byName = NAME_PATTERN.test(id) ? (await this.list()).filter((e) => e.name === id) : [];
      if (byName.length !== 1 || !byName[0]) return this.notFound(envId);
      id = byName[0].env_id;
    }
    const record = await this.readRecord(id);
    if (record && (await this.problemOf(record)) === null) return record;
    if (id === DEFAULT_ENV) return this.lock.run(DEFAULT_ENV, () => this.ensureDefault());
    if (!record) return this.notFound(envId);
    throw new HangarError('ENV_NOT_FOUND', `environment "${id}" is broken: ${(await this.problemOf(record)) ?? 'unknown'}; destroy_environment it and create it again (restore_environment can rebuild it from a freeze)`);
  }

  private async ensureDefault(): Promise<EnvRecord> {
    const record = await this.readRecord(DEFAULT_ENV);
    if (record && (await this.problemOf(record)) === null) return record;
    if (record) {
      this.deps.logger.warn('default environment is broken; recreating it', { problem: await this.problemOf(record) });
      this.records.delete(DEFAULT_ENV);
      await rm(this.envDir(DEFAULT_ENV), { recursive: true, force: true });
    }
    return this.build(DEFAULT_ENV, { name: DEFAULT_ENV });
  }

  async create(options: CreateOptions): Promise<EnvRecord> {
    const name = options.name;
    if (!NAME_PATTERN.test(name)) {
      throw new HangarError('INVALID_ARGUMENT', `name "${name.length > 40 ? `${name.slice(0, 40)}…` : name}" is not allowed: use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (no "/" or spaces)`);
    }
    if (name === DEFAULT_ENV) throw new HangarError('INVALID_ARGUMENT', 'the name "default" is reserved for the default environment; pick another name');
    return this.lock.run(`name:${name}`, async () => {
      if ((await this.list()).some((e) => e.name === name)) {
        throw new HangarError('INVALID_ARGUMENT', `an environment named "${name}" already exists; pick another name or destroy_environment it first`);
      }
      return this.build(newId('env'), options);
    });
  }

  private async build(envId: string, options: CreateOptions): Promise<EnvRecord> {
    const backendName = options.backend ?? 'venv';
    const backend = this.backends[backendName];
    if (!(await backend.locate())) {
      const have = (await this.availableBackends()).map((b) => b.name).join(', ');
      throw new HangarError('INVALID_ARGUMENT', `backend "${backendName}" is not available on this machine; available: ${have}`);
    }
    const base = await this.resolvePython(options.pythonVersion, options.signal);
    const dir = this.envDir(envId);
    const record: EnvRecord = {
      env_id: envId,
      name: options.name,
      python_version: base.version,
      python_path: envPython(path.join(dir, backendName === 'venv' || backendName === 'uv' ? 'venv' : 'conda')),
      env_path: path.join(dir, backendName === 'venv' || backendName === 'uv' ? 'venv' : 'conda'),
      workspace_path: path.join(dir, 'workspace'),
      backend: backendName,
      created_at: new Date().toISOString(),
      base_python: base.path,
      system_site_packages: options.systemSitePackages ?? false,
      conda_specs: [],
      conda_channels: [],
    };
    try {
      await mkdir(record.workspace_path, { recursive: true });
      await backend.create({
        envPath: record.env_path,
        base,
        systemSitePackages: record.system_site_packages,
        signal: options.signal,
        timeoutMs: this.deps.config.installTimeout * 1000,
      });
      // The record is written last: a directory without env.json is an unfinished creation.
      await ENV_RECORD.write(this.recordFile(envId), record);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    this.records.set(envId, record);
    return record;
  }

  private async resolvePython(request: string | undefined, signal?: AbortSignal): Promise<Interpreter> {
    try {
      return await this.interpreters.resolve(request);
    } catch (error) {
      const uv = this.backends.uv as UvBackend;
      const canFetch = error instanceof HangarError && error.code === 'PYTHON_VERSION_UNAVAILABLE' && request && /^\d+\.\d+(\.\d+)?$/.test(request);
      if (!canFetch || !(await uv.locate())) throw error;
      // Not on the machine, but uv can fetch it.
      await uv.installPython(request, signal, this.deps.config.installTimeout * 1000);
      await this.interpreters.list(true);
      return this.interpreters.resolve(request);
    }
  }

  /** Ends the environment's processes and sessions (listeners), then removes its directory. */
  async destroy(envId: string): Promise<EnvRecord> {
    if (envId !== DEFAULT_ENV && !isWellFormedId(envId)) return this.notFound(envId);
    const record = await this.readRecord(envId).catch(() => undefined);
    const exists = await access(this.envDir(envId)).then(() => true, () => false);
    if (!record && !exists) return this.notFound(envId);
    for (const controller of this.installs.get(envId) ?? []) controller.abort(new Error('the environment is being destroyed'));
    return this.lock.run(envId, async () => {
      const target = record ?? (await this.readRecord(envId).catch(() => undefined));
      if (target) for (const listener of this.beforeDestroy) await listener(target);
      this.records.delete(envId);
      await rm(this.envDir(envId), { recursive: true, force: true });
      return target ?? this.fallbackRecord(envId);
    });
  }

  private fallbackRecord(envId: string): EnvRecord {
    const dir = this.envDir(envId);
    return { env_id: envId, name: envId, python_version: '', python_path: '', env_path: dir, workspace_path: '', backend: 'venv', created_at: '', base_python: '', system_site_packages: false, conda_specs: [], conda_channels: [] };
  }

  private sources(request: PackageRequest): PackageSources {
    const { config } = this.deps;
    const indexUrl = request.indexUrl !== undefined ? validateIndexUrl(request.indexUrl, 'index_url') : config.pipIndexUrl;
    const extra = (request.extraIndexUrl ?? []).map((u) => validateIndexUrl(u, 'extra_index_url'));
    const links = (request.findLinks ?? []).map(validateFindLinks);
    return { indexUrl, extraIndexUrls: [...extra, ...config.pipExtraIndexUrl], findLinks: [...links, ...config.pipFindLinks] };
  }

  private timeoutMs(timeoutS: number | undefined): number {
    const max = this.deps.config.installTimeout;
    if (timeoutS !== undefined && timeoutS > max) throw new HangarError('POLICY_DENIED', `timeout_s ${timeoutS} is above the operator's install maximum of ${max} s`);
    return (timeoutS ?? max) * 1000;
  }

  private base(env: EnvRecord): Interpreter {
    return { path: env.base_python, version: env.python_version, source: 'explicit', implementation: 'cpython', usable: true, default: false };
  }

  async installPackages(envId: string | undefined, packages: readonly string[], request: PackageRequest = {}, noDeps = false): Promise<InstallOutcome> {
    // Every check happens before anything runs.
    const specs = request.useConda ? packages.map((p) => validateCondaSpec(p)) : validateSpecs(packages);
    const sources = this.sources(request);
    const timeoutMs = this.timeoutMs(request.timeoutS);
    const env = await this.get(envId);
    const backend = this.backends[env.backend];
    if (request.useConda && !(backend instanceof CondaBackend)) {
      throw new HangarError('INVALID_ARGUMENT', `use_conda needs a conda or micromamba environment; "${env.env_id}" uses ${env.backend} (create_environment with backend "conda")`);
    }
    const controller = new AbortController();
    const forward = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) forward();
    request.signal?.addEventListener('abort', forward, { once: true });
    const active = this.installs.get(env.env_id) ?? new Set();
    active.add(controller);
    this.installs.set(env.env_id, active);
    try {
      return await this.lock.run(env.env_id, async () => {
        const current = await this.get(env.env_id);
        const command = request.useConda && backend instanceof CondaBackend ? await backend.condaInstallCommand(current.env_path, specs, current.conda_channels) : undefined;
        const outcome = await installInto(current, backend, this.base(current), specs, { upgrade: request.upgrade, noDeps, sources, timeoutMs, signal: controller.signal, onProgress: request.onProgress }, this.deps, command);
        if (request.useConda) {
          const updated = { ...current, conda_specs: [...new Set([...current.conda_specs, ...specs])] };
          await ENV_RECORD.write(this.recordFile(current.env_id), updated);
          this.records.set(current.env_id, updated);
        }
        return outcome;
      });
    } finally {
      request.signal?.removeEventListener('abort', forward);
      active.delete(controller);
    }
  }

  async installRequirements(envId: string | undefined, requirementsPath: string, request: PackageRequest = {}): Promise<InstallOutcome> {
    const env = await this.get(envId);
    const file = await resolveInside(env.workspace_path, requirementsPath, 'requirements_path');
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new HangarError('FILE_NOT_FOUND', `requirements file "${requirementsPath.slice(0, 200)}" cannot be read in the workspace of ${env.env_id} (${error.code ?? error.message}); write it there first`);
    });
    if (text.length > 1_000_000) throw new HangarError('INVALID_ARGUMENT', 'the requirements file is larger than 1 MB');
    return this.installPackages(env.env_id, parseRequirements(text, requirementsPath.slice(0, 200)), request);
  }

  async listPackages(envId?: string): Promise<{ env: EnvRecord; packages: InstalledPackage[] }> {
    const env = await this.get(envId);
    return { env, packages: await scanPackages(sitePackages(env.env_path, env.python_version)) };
  }

  async freeze(envId?: string): Promise<FrozenEnv> {
    const { env, packages } = await this.listPackages(envId);
    return {
      format: FROZEN_FORMAT,
      format_version: FROZEN_VERSION,
      name: env.name,
      python_version: env.python_version,
      backend: env.backend,
      system_site_packages: env.system_site_packages,
      packages,
      ...(env.conda_specs.length > 0 ? { conda: { channels: env.conda_channels, specs: env.conda_specs } } : {}),
      frozen_at: new Date().toISOString(),
    };
  }

  /** Rebuilds a frozen environment under a new name; on any failure nothing is left behind. */
  async restore(name: string, frozenJson: unknown, request: PackageRequest = {}): Promise<{ env: EnvRecord; packages: InstalledPackage[]; warnings: string[] }> {
    const parsed = FrozenEnvSchema.safeParse(frozenJson);
    if (!parsed.success) {
      throw new HangarError('INVALID_ARGUMENT', `frozen_json is not a Hangar environment document (format "${FROZEN_FORMAT}", format_version ≤ ${FROZEN_VERSION}): ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const frozen = parsed.data;
    const pins = frozen.packages.map((p) => validateSpec(`${p.name}==${p.version}`));
    const warnings: string[] = [];
    let backend = frozen.backend;
    if (!(await this.backends[backend].locate())) {
      warnings.push(`backend ${backend} is not available here; restored with venv`);
      backend = 'venv';
    }
    let pythonVersion = frozen.python_version;
    const exact = await this.interpreters.resolve(pythonVersion).catch(() => undefined);
    if (!exact) {
      pythonVersion = frozen.python_version.split('.').slice(0, 2).join('.');
      warnings.push(`Python ${frozen.python_version} is not installed here; using the newest ${pythonVersion}.x`);
    }
    const env = await this.create({ name, pythonVersion, systemSitePackages: frozen.system_site_packages, backend, signal: request.signal });
    try {
      if (frozen.conda && frozen.conda.specs.length > 0 && backend !== 'venv' && backend !== 'uv') {
        await this.installPackages(env.env_id, frozen.conda.specs, { ...request, useConda: true });
      }
      // Exact pins without dependency resolution: the same set, nothing more.
      if (pins.length > 0) await this.installPackages(env.env_id, pins, { ...request, upgrade: false, useConda: false }, true);
    } catch (error) {
      await this.destroy(env.env_id).catch(() => undefined);
      throw error;
    }
    const { packages } = await this.listPackages(env.env_id);
    return { env, packages, warnings };
  }
}

/** conda specs: name, optional version / build match (`numpy=1.26`, `python>=3.10`), or channel::name. */
function validateCondaSpec(spec: string): string {
  const trimmed = spec.trim();
  if (!/^(?:[A-Za-z0-9_.-]+::)?[A-Za-z0-9][A-Za-z0-9_.-]*(?:\s*[=<>!~]{1,2}\s*[A-Za-z0-9_.*+!,=<>-]+)?$/.test(trimmed) || trimmed.length > 300) {
    throw new HangarError('INVALID_ARGUMENT', `conda package "${trimmed.slice(0, 80)}" is not a spec like "numpy", "numpy=1.26" or "conda-forge::numpy" (no options)`);
  }
  return trimmed;
}
