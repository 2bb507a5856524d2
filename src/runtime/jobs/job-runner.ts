import { cp, lstat, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../config/schema.js';
import { describeError, HangarError } from '../errors.js';
import type { ExecService } from '../exec/exec-service.js';
import { isWellFormedId, newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { ProcessManager } from '../processes/process-manager.js';
import type { DataLayout } from '../store/layout.js';
import type { WorkspaceFiles } from '../workspaces/files.js';
import type { WorkspaceLocator } from '../workspaces/locator.js';
import { globMatcher } from '../workspaces/glob.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { JOB_RECORD, type CommandResult, type JobRecord } from './record.js';
import { allowedHostDir, artifactPath, JobSpecSchema, toArgv, type JobSpec } from './spec.js';

export interface JobRunnerDeps {
  config: Config;
  layout: DataLayout;
  exec: ExecService;
  processes: ProcessManager;
  workspaces: WorkspaceFiles;
  /** The environment's python env: bootstrap commands see it as the run does (first on PATH, read-only). */
  locator: WorkspaceLocator;
  logger: Logger;
}

export interface Artifact {
  path: string;
  size: number;
  uri: string;
}

const MAX_ARTIFACT_FILES = 1000;

/**
 * Jobs: sync → bootstrap → run → artifacts, in the background of this server. The run is a
 * background process, so it survives a restart and a new server picks the job up again; the
 * short phases before it are cancelled by a shutdown (submit again).
 */
export class JobRunner {
  private readonly controllers = new Map<string, AbortController>();
  private readonly driving = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: JobRunnerDeps) {}

  private file(id: string): string {
    return path.join(this.deps.layout.job(id), 'job.json');
  }

  async init(): Promise<void> {
    const ids = await readdir(this.deps.layout.jobs).catch(() => [] as string[]);
    for (const id of ids.filter(isWellFormedId)) {
      const record = await JOB_RECORD.read(this.file(id)).catch(() => undefined);
      if (!record) continue;
      if (record.phase === 'running' && record.process_id) this.start(record, () => this.watchRun(record));
      else if (['queued', 'syncing', 'bootstrapping'].includes(record.phase)) {
        await this.save(record, { phase: 'cancelled', error: `interrupted in phase ${record.phase} by a server restart; submit the job again` });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers.values()) controller.abort(new Error('the server is shutting down'));
    await Promise.allSettled([...this.driving]);
  }

  async submit(rawSpec: unknown, envId: string): Promise<JobRecord> {
    const parsed = JobSpecSchema.safeParse(rawSpec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HangarError('INVALID_ARGUMENT', `spec.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    const spec = parsed.data;
    // Refuse what cannot work before anything runs: host paths, workspace paths, timeouts.
    for (const entry of spec.sync) await allowedHostDir(this.deps.config.allowDirs, entry.local_dir, false);
    const root = await this.deps.workspaces.root(envId);
    const paths = [...spec.sync.map((s) => s.remote_dir), spec.bootstrap?.cwd ?? '', spec.run.cwd, ...(spec.run.log_path ? [spec.run.log_path] : []), ...spec.artifacts.map(artifactPath)];
    for (const p of paths) await resolveInside(root, p, 'path');
    const perCommand = spec.bootstrap?.timeout_s_per_command;
    // Both phases run under the same policy; a network or level the operator forbids fails here, before anything runs.
    await this.deps.exec.policyFor({ timeoutS: perCommand, sandbox: spec.sandbox, network: spec.bootstrap?.network });
    await this.deps.exec.policyFor({ sandbox: spec.sandbox, network: spec.run.network });

    const now = new Date().toISOString();
    const record: JobRecord = {
      job_id: newId('job'),
      env_id: envId,
      spec,
      phase: 'queued',
      submitted_at: now,
      updated_at: now,
      error: null,
      synced: [],
      bootstrap: [],
      process_id: null,
      run: null,
    };
    await JOB_RECORD.write(this.file(record.job_id), record);
    this.start(record, (signal) => this.drive(record, signal));
    return record;
  }

  private start(record: JobRecord, work: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    this.controllers.set(record.job_id, controller);
    const run = work(controller.signal)
      .catch(async (error: unknown) => {
        const current = (await JOB_RECORD.read(this.file(record.job_id))) ?? record;
        const phase = controller.signal.aborted ? 'cancelled' : 'failed';
        await this.save(current, { phase, error: describeError(error) });
      })
      .finally(() => {
        this.controllers.delete(record.job_id);
        this.driving.delete(run);
      });
    this.driving.add(run);
  }

  private async save(record: JobRecord, patch: Partial<JobRecord>): Promise<JobRecord> {
    const next = { ...record, ...patch, updated_at: new Date().toISOString() };
    await JOB_RECORD.write(this.file(record.job_id), next);
    return next;
  }

  private async drive(initial: JobRecord, signal: AbortSignal): Promise<void> {
    const { spec, env_id: envId } = initial;
    const root = await this.deps.workspaces.root(envId);
    let record = await this.save(initial, { phase: 'syncing' });
    const synced: JobRecord['synced'] = [];
    for (const entry of spec.sync) {
      if (signal.aborted) throw new HangarError('CANCELLED', 'cancelled');
      synced.push(await this.syncDir(entry, root));
    }
    record = await this.save(record, { synced, phase: spec.bootstrap && spec.bootstrap.commands.length > 0 ? 'bootstrapping' : 'running' });

    if (spec.bootstrap && spec.bootstrap.commands.length > 0) {
      const results: CommandResult[] = [];
      const cwd = await resolveInside(root, spec.bootstrap.cwd, 'bootstrap.cwd');
      let failed: CommandResult | undefined;
      const environment = await this.deps.locator.runEnvironment?.(envId);
      const policy = { timeoutS: spec.bootstrap.timeout_s_per_command, sandbox: spec.sandbox, network: spec.bootstrap.network };
      for (const command of spec.bootstrap.commands) {
        const result = await this.deps.exec.runCommand({ command: toArgv(command), cwd, env: spec.bootstrap.env, environment, policy, signal });
        const tail = `${result.stdout}${result.stderr ? `\n[stderr]\n${result.stderr}` : ''}`;
        const entry = { command: typeof command === 'string' ? command : command.join(' '), status: result.status, exit_code: result.exit_code, duration_ms: result.duration_ms, output_tail: tail.slice(-4000) };
        results.push(entry);
        record = await this.save(record, { bootstrap: results });
        if (signal.aborted) throw new HangarError('CANCELLED', 'cancelled');
        if (result.status !== 'ok') {
          failed ??= entry;
          if (spec.bootstrap.fail_fast) break;
        }
      }
      if (failed) {
        await this.save(record, { phase: 'failed', error: `bootstrap command "${failed.command.slice(0, 200)}" failed (${failed.status}, exit ${failed.exit_code ?? 'none'}); the run did not start` });
        return;
      }
      record = await this.save(record, { phase: 'running' });
    }

    const proc = await this.deps.processes.spawn({
      envId,
      command: toArgv(spec.run.command),
      cwd: spec.run.cwd,
      env: spec.run.env,
      timeoutS: spec.run.timeout_s,
      policy: { sandbox: spec.sandbox, network: spec.run.network },
      name: `job ${record.job_id}`,
    });
    record = await this.save(record, { process_id: proc.process_id });
    await this.watchRun(record);
  }

  /** Waits for the run's process (also after a restart), then finishes the job. */
  private async watchRun(record: JobRecord): Promise<void> {
    const id = record.process_id;
    if (!id) return;
    for (;;) {
      const view = (await this.deps.processes.list(record.env_id)).find((p) => p.process_id === id);
      if (!view) throw new HangarError('PROCESS_NOT_FOUND', `the run's process ${id} has disappeared`);
      if (!view.running) {
        if (record.spec.run.log_path) await this.copyLog(record, id);
        const ok = view.exit_code === 0;
        await this.save(record, {
          phase: ok ? 'succeeded' : 'failed',
          run: { exit_code: view.exit_code, signal: view.signal, reason: view.reason },
          error: ok ? null : `the run ended with ${view.exit_code !== null ? `exit ${view.exit_code}` : `signal ${view.signal ?? 'unknown'}`}${view.reason ? ` (${view.reason})` : ''}`,
        });
        return;
      }
      if (this.closed) return; // The process keeps running; the next server watches it.
      await sleep(200);
    }
  }

  private async copyLog(record: JobRecord, processId: string): Promise<void> {
    const target = await this.deps.workspaces.resolve(record.env_id, record.spec.run.log_path ?? '', 'run.log_path');
    const parts: string[] = [];
    let offset = 0;
    for (;;) {
      const chunk = await this.deps.processes.output(processId, 0, offset);
      parts.push(chunk.output);
      if (chunk.next_offset >= chunk.total_bytes || chunk.next_offset === offset) break;
      offset = chunk.next_offset;
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, parts.join(''));
  }

  private async syncDir(entry: JobSpec['sync'][number], root: string): Promise<JobRecord['synced'][number]> {
    const source = await allowedHostDir(this.deps.config.allowDirs, entry.local_dir, false);
    const dest = await resolveInside(root, entry.remote_dir, 'sync.remote_dir');
    const excluded = entry.exclude.map(globMatcher);
    let files = 0;
    let bytes = 0;
    await mkdir(dest, { recursive: true });
    await cp(source, dest, {
      recursive: true,
      force: true,
      filter: async (src) => {
        const rel = path.relative(source, src).split(path.sep).join('/');
        if (rel === '') return true;
        if (excluded.some((m) => m(rel))) return false;
        const info = await lstat(src);
        // Links could point anywhere on the host: they are not followed, nor copied.
        if (info.isSymbolicLink()) return false;
        if (info.isFile()) {
          files++;
          bytes += info.size;
        }
        return true;
      },
    });
    return { local_dir: entry.local_dir, remote_dir: entry.remote_dir, files, bytes };
  }

  async get(id: string): Promise<JobRecord> {
    const record = isWellFormedId(id) ? await JOB_RECORD.read(this.file(id)) : undefined;
    if (!record) throw new HangarError('JOB_NOT_FOUND', `no job "${id.slice(0, 64)}"; job_submit returns the job_id`);
    return record;
  }

  /** The artifacts that exist now, as workspace paths; copies them under `localDir` when given. */
  async collect(id: string, localDir?: string): Promise<{ record: JobRecord; artifacts: Artifact[]; missing: string[]; copied_to: string | null }> {
    const record = await this.get(id);
    if (!['succeeded', 'failed', 'cancelled'].includes(record.phase)) {
      throw new HangarError('INVALID_ARGUMENT', `job ${id} is ${record.phase}; collect its artifacts once it has ended (see job_status)`);
    }
    const target = localDir === undefined ? undefined : await allowedHostDir(this.deps.config.allowDirs, localDir, true);
    const root = await this.deps.workspaces.root(record.env_id);
    const artifacts: Artifact[] = [];
    const missing: string[] = [];
    const add = async (rel: string, abs: string): Promise<void> => {
      const info = await stat(abs);
      if (artifacts.length >= MAX_ARTIFACT_FILES) return;
      artifacts.push({ path: rel, size: info.size, uri: `hangar://workspace/${record.env_id}/${rel.split('/').map(encodeURIComponent).join('/')}` });
      if (target) {
        const out = path.join(target, rel);
        await mkdir(path.dirname(out), { recursive: true });
        await cp(abs, out, { force: true });
      }
    };
    for (const artifact of record.spec.artifacts) {
      const rel = artifactPath(artifact).replace(/^\.?\/+/, '').replace(/\/+$/, '');
      const abs = await resolveInside(root, rel, 'artifact');
      const info = await stat(abs).catch(() => undefined);
      if (!info) {
        missing.push(rel);
        continue;
      }
      if (!info.isDirectory()) {
        await add(rel, abs);
        continue;
      }
      const { files } = await this.deps.workspaces.list(record.env_id, rel, true);
      for (const file of files) {
        if (file.is_dir) continue;
        // Checked again: a link in an artifact directory must not carry a host file out.
        const inner = await resolveInside(root, file.path, 'artifact').catch(() => undefined);
        if (inner && (await lstat(path.join(root, file.path))).isFile()) await add(file.path, inner);
      }
    }
    return { record, artifacts, missing, copied_to: target ?? null };
  }
}
