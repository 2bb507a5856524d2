import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/schema.js';
import { HangarError } from '../errors.js';
import type { ExecService } from '../exec/exec-service.js';
import { isSameProcessAlive, readProc } from '../exec/procfs.js';
import { pathView, viewEnvironment, type PathView, type RunEnvironment } from '../exec/run-view.js';
import { prepareLaunch, spawnedPid, withArgsPipe, writeArgsPipe } from '../exec/spawn.js';
import { isWellFormedId, newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { Logger } from '../logger.js';
import { SANDBOX_PATHS, sandboxedCommand, toolchainMounts } from '../sandbox/bwrap.js';
import { RunCgroup, type CgroupMetrics, type CgroupSupport } from '../sandbox/cgroups.js';
import type { PolicyRequest, RunPolicy } from '../sandbox/policy.js';
import type { DataLayout } from '../store/layout.js';
import type { WorkspaceLocator } from '../workspaces/locator.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { readFromOffset, readTail, type LogChunk } from './log-reader.js';
import { PROCESS_RECORD, type ProcessRecord, type ProcessSandbox } from './record.js';
import { killTree, signalAll, treeMembers } from './tree.js';

/** src/drivers/supervisor.sh, from src/runtime/processes or dist/runtime/processes alike. */
const SUPERVISOR = fileURLToPath(new URL('../../../src/drivers/supervisor.sh', import.meta.url));
/** src/drivers/reaper.py: passed with -c, so it needs no mount inside the sandbox. */
const REAPER = fileURLToPath(new URL('../../../src/drivers/reaper.py', import.meta.url));
/** A system python runs the reaper: under /usr, so it is visible inside the sandbox as well. */
const REAPER_PYTHONS = ['/usr/bin/python3', '/usr/local/bin/python3'];
const MAX_LIFETIME_S = 7 * 86400;
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
  /** Sandbox level, network and limits asked for (checked against the operator's policy); its timeoutS is ignored. */
  policy?: PolicyRequest;
  /** Lifetime limit in seconds; omitted: the operator's --max-process-lifetime, else none. */
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
  /** The sandbox applied (null for processes started before background processes were sandboxed). */
  sandbox: ProcessSandbox | null;
  warnings: string[];
}

export interface ProcessOutput extends LogChunk {
  process_id: string;
  running: boolean;
  exit_code: number | null;
  signal: string | null;
  /** Why it ended when it did not end by itself (a limit, its lifetime, kill_process). */
  reason: string | null;
  log_cap_bytes: number;
}

export interface ProcessManagerDeps {
  config: Config;
  layout: DataLayout;
  cgroups: CgroupSupport;
  languages: LanguageRegistry;
  /** The sandbox policy and bubblewrap support of one-shot runs, applied to background processes too. */
  exec: Pick<ExecService, 'policyFor' | 'isolation'>;
  locator: WorkspaceLocator;
  logger: Logger;
  hostEnv: NodeJS.ProcessEnv;
}

function signalName(number: number): string | null {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === number);
  return entry ? entry[0] : null;
}

/**
 * How the program ended: the reaper's report ("exit N" / "signal N") when there is one; else the
 * supervisor's status, where 128 + N can only be read as signal N (the reaper was killed with the
 * tree, or no system python was found).
 */
function programEnd(report: string, supervisorStatus: number): { exit_code: number | null; signal: string | null } {
  const match = /^(exit|signal) (\d+)$/.exec(report.trim());
  if (match) {
    const n = Number(match[2]);
    return match[1] === 'exit' ? { exit_code: n, signal: null } : { exit_code: null, signal: signalName(n) ?? `signal ${n}` };
  }
  const bySignal = supervisorStatus > 128 && supervisorStatus < 128 + 65;
  return { exit_code: bySignal ? null : supervisorStatus, signal: bySignal ? signalName(supervisorStatus - 128) : null };
}

/**
 * Background processes (spawn_process): started through the shared launch path, watched by a
 * detached supervisor that records the exit status on disk. Nothing lives only in this object's
 * memory: every state is read back from process.json, the pid (+ start time) and exit_status, so a
 * new server re-attaches by reading the same files.
 */
export class ProcessManager {
  /** The reaper's program and source, or undefined where no system python exists (then exit codes above 128 read as signals). */
  private readonly reaper: string[] | undefined;

  constructor(private readonly deps: ProcessManagerDeps) {
    const python = REAPER_PYTHONS.find((file) => existsSync(file));
    this.reaper = python ? [python, '-I', '-S', '-c', readFileSync(REAPER, 'utf8')] : undefined;
  }

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
    const environment = await this.deps.locator.runEnvironment?.(request.envId);
    const cwd = await resolveInside(workspace, request.cwd ?? '', 'cwd');
    const lifetimeS = this.lifetime(request.timeoutS);
    const policy = await this.deps.exec.policyFor({ ...request.policy, timeoutS: undefined });
    const isolated = policy.level === 'isolated';
    const extra = this.extraVariables(request.env);

    const id = newId('proc');
    const dir = this.dir(id);
    const tmpDir = path.join(dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    // At level isolated the workspace is /workspace and /tmp is a private tmpfs standing for tmpDir.
    const view = pathView(isolated, [
      [workspace, SANDBOX_PATHS.work],
      [tmpDir, SANDBOX_PATHS.tmp],
    ]);
    const { command, program } = await this.commandLine(request, workspace, view, environment);
    const env = viewEnvironment(this.deps.hostEnv, view, { home: workspace, tmpDir, environment, extra });
    const warnings = [...policy.warnings];
    if (!this.reaper) warnings.push('no system python3 for the reaper: an exit code above 128 will read as a signal');
    let inner = [...(this.reaper ?? []), ...command];
    let argsPipe: Buffer | undefined;
    if (isolated) {
      const { bwrap } = await this.deps.exec.isolation();
      const readOnly = [...(await toolchainMounts(program)), ...(environment ? [environment.envPath, ...(await toolchainMounts(environment.pythonPath))] : [])];
      ({ command: inner, argsPipe } = sandboxedCommand(
        { bwrap: bwrap ?? '/usr/bin/bwrap', workDir: workspace, chdir: view.inside(cwd), network: policy.network, tmpBytes: policy.tmpBytes, readOnly: [...new Set(readOnly)], env },
        inner,
      ));
    }
    // No timer here: the lifetime limit is the supervisor's (it must hold while no server runs).
    const { group, argv } = await prepareLaunch(this.deps.cgroups, inner, { ...policy.limits, timeoutMs: 0 });
    const capture = request.captureOutput ?? true;
    const supervisor = spawn(
      '/bin/sh',
      [SUPERVISOR, dir, String(this.segmentBytes), String(KEEP_SEGMENTS), capture ? '1' : '0', String(lifetimeS ?? 0), '--', ...argv],
      { cwd, env, detached: true, stdio: withArgsPipe(['ignore', 'ignore', 'ignore'], argsPipe) },
    );
    supervisor.unref();
    const supervisorPid = await spawnedPid(supervisor, group);
    writeArgsPipe(supervisor, argsPipe);
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
      timeout_s: lifetimeS ?? null,
      capture_output: capture,
      segment_bytes: this.segmentBytes,
      keep_segments: KEEP_SEGMENTS,
      cgroup: group && this.deps.cgroups.mode !== 'none' ? { mode: this.deps.cgroups.mode, dirs: group.directories() } : null,
      sandbox: this.appliedSandbox(policy, lifetimeS, group !== undefined),
      kill_requested: null,
      ended: null,
    };
    await PROCESS_RECORD.write(path.join(dir, 'process.json'), record);
    return { ...this.view(await this.refresh(record)), warnings };
  }

  /** Background processes run until killed unless the call or the operator (--max-process-lifetime) sets a lifetime. */
  private lifetime(asked: number | undefined): number | undefined {
    const ceiling = this.deps.config.maxProcessLifetime;
    if (asked === undefined) return ceiling === undefined ? undefined : Math.ceil(ceiling);
    if (!(asked > 0) || asked > MAX_LIFETIME_S) throw new HangarError('INVALID_ARGUMENT', `timeout_s must be above 0 and at most ${MAX_LIFETIME_S} (7 days)`);
    if (ceiling !== undefined && asked > ceiling) throw new HangarError('POLICY_DENIED', `timeout_s ${asked} s is above the operator's maximum lifetime of background processes; ask for at most ${ceiling} s`);
    return Math.ceil(asked);
  }

  private appliedSandbox(policy: RunPolicy, lifetimeS: number | undefined, cgroup: boolean): ProcessSandbox {
    const mb = (bytes: number | undefined): number | null => (bytes === undefined ? null : Math.round(bytes / 1048576));
    return {
      level: policy.level,
      network: policy.network,
      limits: {
        timeout_s: lifetimeS ?? null,
        memory_mb: mb(policy.limits.memoryBytes),
        cpu_s: policy.limits.cpuSeconds ?? null,
        max_processes: policy.limits.maxProcesses ?? null,
        max_file_mb: mb(policy.limits.fileSizeBytes),
      },
      enforcement: cgroup ? 'cgroup' : 'rlimit',
    };
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

  /** The program's argv, naming paths as the program sees them, and the program whose toolchain must be visible. */
  private async commandLine(
    request: SpawnBackgroundRequest,
    workspace: string,
    view: PathView,
    environment: RunEnvironment | undefined,
  ): Promise<{ command: string[]; program: string }> {
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
      const python = entry.id === 'python' ? (environment?.pythonPath ?? (await this.deps.locator.pythonPath?.(request.envId))) : undefined;
      const tool = python ?? (await this.deps.languages.resolve(entry.id)).tool;
      const dir = view.inside(path.dirname(file));
      return { command: entry.command(tool, { source: view.inside(file), buildDir: dir, tmpDir: dir, code: '' }, request.args ?? []), program: tool };
    }
    if (typeof command === 'string') return { command: ['/bin/sh', '-c', command, 'sh', ...(request.args ?? [])], program: '/bin/sh' };
    if (!command || command.length === 0) throw new HangarError('INVALID_ARGUMENT', 'command is an empty list; give the program and its arguments');
    const first = command[0] ?? '';
    return { command: [...command, ...(request.args ?? [])], program: first.includes('/') ? first : this.onPath(first, environment) };
  }

  /** A bare program name as the sandbox's PATH finds it, so that its toolchain (e.g. /opt/node) can be shown inside. */
  private onPath(name: string, environment: RunEnvironment | undefined): string {
    const dirs = [...(environment ? [path.join(environment.envPath, 'bin')] : []), '/usr/local/bin', '/usr/bin', '/bin'];
    return dirs.map((dir) => path.join(dir, name)).find((file) => existsSync(file)) ?? '/bin/sh';
  }

  private extraVariables(env: Record<string, string> | undefined): Record<string, string> {
    const extra: Record<string, string> = {};
    for (const [key, value] of Object.entries(env ?? {})) {
      if (!ENV_NAME.test(key)) throw new HangarError('INVALID_ARGUMENT', `env name "${key.slice(0, 40)}" is not a valid variable name`);
      extra[key] = value;
    }
    return extra;
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
    const group = record.cgroup ? RunCgroup.reopen(record.cgroup.mode, record.cgroup.dirs) : undefined;
    let ended: ProcessRecord['ended'] = null;
    if (status) {
      const [code, ms] = status.trim().split(' ').map(Number);
      const endedMs = Number.isFinite(ms) ? (ms ?? Date.now()) : Date.now();
      const program = await readFile(path.join(dir, 'program_status'), 'utf8').catch(() => '');
      const end = programEnd(program, code ?? -1);
      const metrics = await group?.metrics().catch(() => undefined);
      ended = {
        ...end,
        ended_at: new Date(endedMs).toISOString(),
        reason: this.endReason(record, code ?? -1, end.signal, endedMs, metrics),
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
    if (group) {
      await group.killAll();
      await group.remove();
    }
    const next = { ...record, ended };
    await PROCESS_RECORD.write(path.join(dir, 'process.json'), next);
    return next;
  }

  /** Why a process ended, when it did not end by itself: a limit, the lifetime, or kill_process. */
  private endReason(record: ProcessRecord, supervisorStatus: number, signal: string | null, endedMs: number, metrics: CgroupMetrics | undefined): string | null {
    const limits = record.sandbox?.limits;
    if (metrics?.memoryLimitHit && signal === 'SIGKILL') return `memory limit ${limits?.memory_mb ?? '?'} MB exceeded`;
    if (signal === 'SIGXCPU') return `CPU time limit ${limits?.cpu_s ?? '?'} s exceeded`;
    if (signal === 'SIGXFSZ') return `file size limit ${limits?.max_file_mb ?? '?'} MB exceeded`;
    // coreutils timeout exits 124 after its TERM, 137 after its KILL; the time tells it from a kill_process.
    const lived = endedMs - Date.parse(record.started_at);
    if (record.timeout_s !== null && (supervisorStatus === 124 || supervisorStatus === 137) && lived >= record.timeout_s * 1000 - 250) {
      return `timed out after ${record.timeout_s} s`;
    }
    if (record.kill_requested) return `killed by kill_process (${record.kill_requested.signal})`;
    if (metrics?.processLimitHit) return `process limit ${limits?.max_processes ?? '?'} reached (fork refused)`;
    return null;
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
      sandbox: record.sandbox,
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
      reason: record.ended?.reason ?? null,
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
    // At level isolated the polite signal goes to the program's processes only: bubblewrap (and
    // the timeout wrapper) share the session numbered by record.pid, and their death would tear
    // the sandbox down at once, before the program could handle the signal.
    const members = await treeMembers(record.pid, record.start_time, exclude);
    signalAll(record.sandbox?.level === 'isolated' && signal !== 'KILL' ? members.filter((p) => p.sid !== record.pid) : members, `SIG${signal}`);
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
