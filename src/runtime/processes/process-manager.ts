import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/schema.js';
import { HangarError } from '../errors.js';
import { isSameProcessAlive, readProc } from '../exec/procfs.js';
import { prepareLaunch } from '../exec/spawn.js';
import { isWellFormedId, newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { Logger } from '../logger.js';
import { RunCgroup, type CgroupSupport } from '../sandbox/cgroups.js';
import { buildRunEnvironment } from '../sandbox/environment.js';
import type { DataLayout } from '../store/layout.js';
import type { WorkspaceLocator } from '../workspaces/locator.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { readFromOffset, readTail, type LogChunk } from './log-reader.js';
import { PROCESS_RECORD, type ProcessRecord } from './record.js';
import { killTree, signalAll, treeMembers } from './tree.js';

/** src/drivers/supervisor.sh, from src/runtime/processes or dist/runtime/processes alike. */
const SUPERVISOR = fileURLToPath(new URL('../../../src/drivers/supervisor.sh', import.meta.url));
const KEEP_SEGMENTS = 2;
const MAX_OUTPUT_BYTES = 256 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface SpawnBackgroundRequest {
  envId: string;
  /** An argv, or a string run by `sh -c`; exclusive with scriptPath. */
  command?: string[] | string;
  scriptPath?: string;
  args?: string[];
  name?: string;
  cwd?: string;
  env?: Record<string, string>;
  captureOutput?: boolean;
  network?: boolean;
  timeoutS?: number;
}

export interface ProcessView {
  process_id: string;
  pid: number;
  name: string;
  env_id: string;
  command: string[];
  started_at: string;
  running: boolean;
  exit_code: number | null;
  signal: string | null;
  ended_at: string | null;
  reason: string | null;
  warnings: string[];
}

export interface ProcessOutput extends LogChunk {
  process_id: string;
  running: boolean;
  exit_code: number | null;
  signal: string | null;
  log_cap_bytes: number;
}

export interface ProcessManagerDeps {
  config: Config;
  layout: DataLayout;
  cgroups: CgroupSupport;
  languages: LanguageRegistry;
  locator: WorkspaceLocator;
  logger: Logger;
  hostEnv: NodeJS.ProcessEnv;
}

function signalName(number: number): string | null {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === number);
  return entry ? entry[0] : null;
}

/**
 * Background processes (spawn_process): started through the shared launch path, watched by a
 * detached supervisor that records the exit status on disk. Nothing lives only in this object's
 * memory: every state is read back from process.json, the pid (+ start time) and exit_status, so a
 * new server re-attaches by reading the same files.
 */
export class ProcessManager {
  constructor(private readonly deps: ProcessManagerDeps) {}

  private dir(id: string): string {
    return this.deps.layout.process(id);
  }

  private get segmentBytes(): number {
    return Math.max(4096, Math.floor((this.deps.config.processLogMaxMb * 1048576) / KEEP_SEGMENTS));
  }

  /** At start: re-attaches to every recorded process and reports those that ended meanwhile. */
  async init(): Promise<{ running: number; ended_while_down: string[] }> {
    const ids = await readdir(this.deps.layout.processes).catch(() => [] as string[]);
    let running = 0;
    const ended: string[] = [];
    for (const id of ids.filter(isWellFormedId)) {
      const record = await PROCESS_RECORD.read(path.join(this.dir(id), 'process.json')).catch(() => undefined);
      if (!record) continue;
      const wasEnded = record.ended !== null;
      const now = await this.refresh(record, true);
      if (!now.ended) running++;
      else if (!wasEnded) ended.push(id);
    }
    if (running > 0 || ended.length > 0) this.deps.logger.info('background processes re-attached', { running, ended_while_down: ended });
    return { running, ended_while_down: ended };
  }

  /** With --kill-processes-on-exit, ends every running process; else they keep running. */
  async close(): Promise<void> {
    if (!this.deps.config.killProcessesOnExit) return;
    const records = await this.records();
    await Promise.allSettled(records.filter((r) => !r.ended).map((r) => this.kill(r.process_id, 'TERM', 2)));
  }

  async spawn(request: SpawnBackgroundRequest): Promise<ProcessView> {
    const workspace = await this.deps.locator.workspacePath(request.envId);
    const cwd = await resolveInside(workspace, request.cwd ?? '', 'cwd');
    const command = await this.commandLine(request, workspace);
    const warnings: string[] = [];
    if (request.network === false) warnings.push('network isolation needs the isolated sandbox, not available here: the process has network access');
    if (request.timeoutS !== undefined && (!(request.timeoutS > 0) || request.timeoutS > 7 * 86400)) {
      throw new HangarError('INVALID_ARGUMENT', 'timeout_s must be above 0 and at most 604800 (7 days)');
    }

    const id = newId('proc');
    const dir = this.dir(id);
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const env = this.environment(request, workspace, path.join(dir, 'tmp'));
    const limits = {
      timeoutMs: 0,
      fileSizeBytes: this.deps.config.maxFileMb * 1048576,
      openFiles: this.deps.config.maxOpenFiles,
      maxOutputChars: this.deps.config.maxOutputChars,
    };
    const { group, argv } = await prepareLaunch(this.deps.cgroups, command, limits);
    const capture = request.captureOutput ?? true;
    const supervisor = spawn(
      '/bin/sh',
      [SUPERVISOR, dir, String(this.segmentBytes), String(KEEP_SEGMENTS), capture ? '1' : '0', String(Math.ceil(request.timeoutS ?? 0)), '--', ...argv],
      { cwd, env, detached: true, stdio: 'ignore' },
    );
    supervisor.unref();
    const supervisorPid = await new Promise<number>((resolve, reject) => {
      supervisor.once('spawn', () => resolve(supervisor.pid ?? -1));
      supervisor.once('error', reject);
    });
    const pid = await this.waitForPid(dir, supervisorPid);
    const [info, supInfo] = await Promise.all([readProc(pid), readProc(supervisorPid)]);
    const record: ProcessRecord = {
      process_id: id,
      name: request.name ?? path.basename(command[0] ?? 'process'),
      env_id: request.envId,
      command,
      cwd: request.cwd ?? '',
      pid,
      start_time: info?.startTime ?? 0,
      supervisor_pid: supervisorPid,
      supervisor_start_time: supInfo?.startTime ?? 0,
      started_at: new Date().toISOString(),
      timeout_s: request.timeoutS ?? null,
      capture_output: capture,
      segment_bytes: this.segmentBytes,
      keep_segments: KEEP_SEGMENTS,
      cgroup: group && this.deps.cgroups.mode !== 'none' ? { mode: this.deps.cgroups.mode, dirs: group.directories() } : null,
      kill_requested: null,
      ended: null,
    };
    await PROCESS_RECORD.write(path.join(dir, 'process.json'), record);
    return { ...this.view(await this.refresh(record)), warnings };
  }

  private async waitForPid(dir: string, supervisorPid: number): Promise<number> {
    for (let i = 0; i < 1000; i++) {
      const text = await readFile(path.join(dir, 'pid'), 'utf8').catch(() => undefined);
      if (text && Number(text) > 0) return Number(text);
      if (i > 10 && !(await isSameProcessAlive(supervisorPid))) break;
      await sleep(i < 50 ? 1 : 10);
    }
    throw new HangarError('INTERNAL', 'the process supervisor did not start the process; see hangar doctor');
  }

  private async commandLine(request: SpawnBackgroundRequest, workspace: string): Promise<string[]> {
    const { command, scriptPath } = request;
    if ((command === undefined) === (scriptPath === undefined)) {
      throw new HangarError('INVALID_ARGUMENT', 'give exactly one of command (argv array or shell string) and script_path');
    }
    if (scriptPath !== undefined) {
      const file = await resolveInside(workspace, scriptPath, 'script_path');
      if (!existsSync(file)) throw new HangarError('FILE_NOT_FOUND', `script_path "${scriptPath}" does not exist in the workspace; write it with workspace_write_file`);
      const entry = this.deps.languages.byExtension(file);
      if (!entry) throw new HangarError('LANGUAGE_UNAVAILABLE', `no language runs "${path.extname(file) || scriptPath}" files; use command instead`);
      if (entry.compile || entry.transform || entry.rewrite) {
        throw new HangarError('LANGUAGE_UNAVAILABLE', `${entry.id} scripts need a build step first; build with workspace_run_script or a command, then spawn the program with command`);
      }
      const python = entry.id === 'python' ? await this.deps.locator.pythonPath?.(request.envId) : undefined;
      const tool = python ?? (await this.deps.languages.resolve(entry.id)).tool;
      const dir = path.dirname(file);
      return entry.command(tool, { source: file, buildDir: dir, tmpDir: dir, code: '' }, request.args ?? []);
    }
    if (typeof command === 'string') return ['/bin/sh', '-c', command, 'sh', ...(request.args ?? [])];
    if (!command || command.length === 0) throw new HangarError('INVALID_ARGUMENT', 'command is an empty list; give the program and its arguments');
    return [...command, ...(request.args ?? [])];
  }

  private environment(request: SpawnBackgroundRequest, workspace: string, tmpDir: string): Record<string, string> {
    const extra: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.env ?? {})) {
      if (!ENV_NAME.test(key)) throw new HangarError('INVALID_ARGUMENT', `env name "${key.slice(0, 40)}" is not a valid variable name`);
      extra[key] = value;
    }
    return buildRunEnvironment(this.deps.hostEnv, { home: workspace, tmpDir, extra: { ...extra } });
  }

  private async records(): Promise<ProcessRecord[]> {
    const ids = await readdir(this.deps.layout.processes).catch(() => [] as string[]);
    const out: ProcessRecord[] = [];
    for (const id of ids.filter(isWellFormedId)) {
      const record = await PROCESS_RECORD.read(path.join(this.dir(id), 'process.json')).catch(() => undefined);
      if (record) out.push(record);
    }
    return out.sort((a, b) => a.started_at.localeCompare(b.started_at));
  }

  async get(id: string): Promise<ProcessRecord> {
    const record = isWellFormedId(id) ? await PROCESS_RECORD.read(path.join(this.dir(id), 'process.json')) : undefined;
    if (!record) throw new HangarError('PROCESS_NOT_FOUND', `no process "${id.slice(0, 64)}"; list them with list_processes`);
    return this.refresh(record);
  }

  /** Reads the process's state from disk and /proc; records the end once it is known. */
  private async refresh(record: ProcessRecord, atStart = false): Promise<ProcessRecord> {
    if (record.ended) return record;
    const dir = this.dir(record.process_id);
    const status = await readFile(path.join(dir, 'exit_status'), 'utf8').catch(() => undefined);
    let ended: ProcessRecord['ended'] = null;
    if (status) {
      const [code, ms] = status.trim().split(' ').map(Number);
      const raw = code ?? -1;
      const bySignal = raw > 128 && raw < 128 + 65;
      const timedOut = record.timeout_s !== null && (raw === 124 || (raw === 137 && !record.kill_requested));
      ended = {
        exit_code: bySignal ? null : raw,
        signal: bySignal ? signalName(raw - 128) : null,
        ended_at: new Date(Number.isFinite(ms) ? (ms ?? Date.now()) : Date.now()).toISOString(),
        reason: timedOut ? `timed out after ${record.timeout_s} s` : record.kill_requested ? `killed by kill_process (${record.kill_requested.signal})` : null,
        while_server_down: atStart,
      };
    } else if (!(await isSameProcessAlive(record.pid, record.start_time)) && !(await isSameProcessAlive(record.supervisor_pid, record.supervisor_start_time))) {
      ended = {
        exit_code: null,
        signal: null,
        ended_at: new Date().toISOString(),
        reason: 'ended without a recorded status (its supervisor was killed, or the machine restarted)',
        while_server_down: atStart,
      };
    }
    if (!ended) return record;
    // Remnants (daemons that left the process group) end with the process, as for one-shot runs.
    await killTree(record.pid, record.start_time, [record.supervisor_pid]);
    if (record.cgroup) {
      const group = RunCgroup.reopen(record.cgroup.mode, record.cgroup.dirs);
      await group.killAll();
      await group.remove();
    }
    const next = { ...record, ended };
    await PROCESS_RECORD.write(path.join(dir, 'process.json'), next);
    return next;
  }

  view(record: ProcessRecord): ProcessView {
    return {
      process_id: record.process_id,
      pid: record.pid,
      name: record.name,
      env_id: record.env_id,
      command: record.command,
      started_at: record.started_at,
      running: record.ended === null,
      exit_code: record.ended?.exit_code ?? null,
      signal: record.ended?.signal ?? null,
      ended_at: record.ended?.ended_at ?? null,
      reason: record.ended?.reason ?? null,
      warnings: [],
    };
  }

  async list(envId?: string): Promise<ProcessView[]> {
    const records = await this.records();
    const refreshed = await Promise.all(records.filter((r) => envId === undefined || r.env_id === envId).map((r) => this.refresh(r)));
    return refreshed.map((r) => this.view(r));
  }

  async output(id: string, tailLines: number, offset?: number): Promise<ProcessOutput> {
    const record = await this.get(id);
    const dir = this.dir(id);
    const chunk =
      offset === undefined
        ? await readTail(dir, record.segment_bytes, tailLines, MAX_OUTPUT_BYTES)
        : await readFromOffset(dir, record.segment_bytes, offset, MAX_OUTPUT_BYTES);
    return {
      process_id: id,
      ...chunk,
      running: record.ended === null,
      exit_code: record.ended?.exit_code ?? null,
      signal: record.ended?.signal ?? null,
      log_cap_bytes: record.segment_bytes * record.keep_segments,
    };
  }

  /** Sends `signal` to the whole tree; what is still alive after `graceS` gets SIGKILL. */
  async kill(id: string, signal: 'TERM' | 'INT' | 'HUP' | 'KILL' = 'TERM', graceS = 5): Promise<ProcessView> {
    let record = await this.get(id);
    if (record.ended) return this.view(record);
    record = { ...record, kill_requested: { signal, at: new Date().toISOString() } };
    await PROCESS_RECORD.write(path.join(this.dir(id), 'process.json'), record);
    const exclude = [record.supervisor_pid];
    signalAll(await treeMembers(record.pid, record.start_time, exclude), `SIG${signal}`);
    const deadline = Date.now() + graceS * 1000;
    while (Date.now() < deadline && (await treeMembers(record.pid, record.start_time, exclude)).length > 0) await sleep(25);
    await killTree(record.pid, record.start_time, exclude);
    if (record.cgroup) await RunCgroup.reopen(record.cgroup.mode, record.cgroup.dirs).killAll();
    // The supervisor records the status right after the process ends.
    for (let i = 0; i < 200 && !existsSync(path.join(this.dir(id), 'exit_status')); i++) await sleep(10);
    return this.view(await this.refresh(record));
  }

  /** Ends every process of an environment (before it is destroyed). */
  async killEnv(envId: string): Promise<number> {
    const running = (await this.list(envId)).filter((p) => p.running);
    await Promise.all(running.map((p) => this.kill(p.process_id, 'TERM', 2)));
    return running.length;
  }
}
