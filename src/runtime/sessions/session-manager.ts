import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../config/schema.js';
import type { ContentStore } from '../content/content-store.js';
import { HangarError } from '../errors.js';
import { SANDBOX_PATHS, sandboxedCommand, toolchainMounts } from '../sandbox/bwrap.js';
import type { PolicyRequest, RunPolicy } from '../sandbox/policy.js';
import type { ExecService } from '../exec/exec-service.js';
import type { ExecStatus, SpawnDeps } from '../exec/spawn.js';
import { PeakRssReader } from '../exec/procfs.js';
import { newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { Logger } from '../logger.js';
import { pathView, viewEnvironment } from '../exec/run-view.js';
import { isWithin } from '../workspaces/safe-path.js';
import type { DataLayout } from '../store/layout.js';
import { KeyedMutex } from '../store/keyed-mutex.js';
import { CellCollector, type ReplResult } from './cell-result.js';
import { DriverInterpreter } from './driver-interpreter.js';
import type { SessionHost } from './host.js';
import { KernelInterpreter } from './kernel-interpreter.js';
import { listKernelSpecs, type KernelSpec } from './kernelspecs.js';
import type { LaunchContext } from './launch.js';
import { SessionStore, type SessionRecord } from './session-store.js';
import { InterpreterDied, type CellReply, type Interpreter } from './types.js';

export type SessionStatus = 'idle' | 'busy' | 'dead' | 'dormant';

export interface SessionInfo {
  session_id: string;
  name: string;
  env_id: string;
  language: string;
  backend: 'builtin' | 'kernel';
  kernel: string | null;
  replay: boolean;
  /** What the interpreter runs under; null for a dormant session of an earlier server (not started yet). */
  sandbox: { level: RunPolicy['level']; network: RunPolicy['network'] } | null;
  status: SessionStatus;
  pid: number | null;
  history_cells: number;
  created_at: string;
}

export interface CreateSessionRequest {
  envId?: string;
  name?: string;
  language?: string;
  kernel?: string;
  replay?: boolean;
  /** Sandbox level, network and limits (timeoutS: the default per-cell timeout); kept for restore. */
  policy?: PolicyRequest;
}

export interface SessionManagerDeps {
  config: Config;
  layout: DataLayout;
  content: ContentStore;
  spawn: SpawnDeps;
  languages: LanguageRegistry;
  exec: Pick<ExecService, 'policyFor' | 'appliedSandbox' | 'isolation'>;
  host: SessionHost;
  hostEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /** How long an interrupted cell may take to return to idle before the interpreter is killed. */
  interruptGraceMs?: number;
}

interface Session {
  record: SessionRecord;
  /** The policy the running interpreter was started under (resolved from record.policy). */
  policy: RunPolicy | null;
  interpreter: Interpreter | null;
  /** Peak memory of the running interpreter, read per cell through one open /proc file. */
  peakRss: PeakRssReader | null;
  runDir: string | null;
  busy: boolean;
  dead: string | null;
  historyCells: number;
  /** Set while Hangar itself stops the interpreter, so its end is not reported as a death. */
  stopping: string | null;
  idleTimer: NodeJS.Timeout | undefined;
}

const BUILTIN_LANGUAGES: Record<string, { driver: string; tool: string; flags: string[]; encoding: 'json' | 'raw' }> = {
  python: { driver: 'python_driver.py', tool: 'python', flags: ['-u', '-B'], encoding: 'json' },
  // --expose-internals: the driver uses node's own top-level-await rewrite (see node_driver.mjs).
  javascript: { driver: 'node_driver.mjs', tool: 'javascript', flags: ['--expose-internals'], encoding: 'json' },
  bash: { driver: 'bash_driver.sh', tool: 'bash', flags: ['--noprofile', '--norc'], encoding: 'raw' },
};
/** Where the run directory (kernel connection file, ipc sockets) appears inside the sandbox. */
const RUN_DIR_INSIDE = '/run/hangar';
/** Directories every isolated run sees already (read-only system paths). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib64'];

/** The fields a caller set (zod leaves absent optional keys as undefined): what session.json keeps. */
function definedOnly(request: PolicyRequest): PolicyRequest {
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined)) as PolicyRequest;
}

const LANGUAGE_ALIASES: Record<string, string> = { py: 'python', python3: 'python', js: 'javascript', node: 'javascript', sh: 'bash', shell: 'bash' };

/** src/drivers from both the sources (tests) and the built server (dist/runtime/sessions → ../../../src/drivers). */
function findDriversDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../drivers'), path.resolve(here, '../../../src/drivers')];
  return candidates.find((dir) => existsSync(path.join(dir, 'python_driver.py'))) ?? candidates[0] ?? here;
}

/**
 * Persistent sessions (DESIGN.md sections 3 and 5): builtin drivers and local Jupyter kernels,
 * one queue per session, history for replay after a restart, idle stop to dormant.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly queue = new KeyedMutex();
  private readonly store: SessionStore;
  private readonly driversDir = findDriversDir();
  private closed = false;

  constructor(private readonly deps: SessionManagerDeps) {
    this.store = new SessionStore(deps.layout);
  }

  /** Sessions of an earlier server come back dormant: listed, and restored on their next cell. */
  async init(): Promise<void> {
    const records = await this.store.loadAll((id, error) => this.deps.logger.warn('skipping a broken session record', { id, error: String(error) }));
    for (const record of records) {
      const historyCells = (await this.store.history(record.session_id)).length;
      this.sessions.set(record.session_id, { record, policy: null, interpreter: null, peakRss: null, runDir: null, busy: false, dead: null, historyCells, stopping: null, idleTimer: undefined });
    }
  }

  kernelSpecs(envId = 'default'): Promise<KernelSpec[]> {
    return this.deps.host.kernelDirsFor ? this.deps.host.kernelDirsFor(envId).then((dirs) => listKernelSpecs(dirs)) : listKernelSpecs();
  }

  private get(sessionId: string): Session {
    const session = this.sessions.get(sessionId);
    if (!session) {
      const known = [...this.sessions.keys()].slice(0, 10);
      throw new HangarError('SESSION_NOT_FOUND', `session "${sessionId.slice(0, 80)}" does not exist${known.length ? `; existing: ${known.join(', ')}` : '; create one with repl_create'}`);
    }
    return session;
  }

  private info(session: Session): SessionInfo {
    const status: SessionStatus = session.dead ? 'dead' : !session.interpreter ? 'dormant' : session.busy ? 'busy' : 'idle';
    const { session_id, name, env_id, language, backend, kernel, replay, created_at } = session.record;
    const sandbox = session.policy ? { level: session.policy.level, network: session.policy.network } : null;
    return { session_id, name, env_id, language, backend, kernel, replay, created_at, sandbox, status, pid: session.interpreter?.pid ?? null, history_cells: session.historyCells };
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => this.info(s));
  }

  private liveCount(): number {
    return [...this.sessions.values()].filter((s) => s.interpreter !== null).length;
  }

  private checkCapacity(): void {
    if (this.liveCount() >= this.deps.config.maxSessions) {
      throw new HangarError('LIMIT_EXCEEDED', `${this.deps.config.maxSessions} sessions are running (--max-sessions); destroy one with repl_destroy first`);
    }
  }

  async create(request: CreateSessionRequest): Promise<SessionInfo> {
    if (this.closed) throw new HangarError('CANCELLED', 'the server is shutting down');
    const envId = request.envId ?? 'default';
    await this.deps.host.workspaceFor(envId);
    let language: string;
    let kernel: string | null = null;
    if (request.kernel !== undefined) {
      const spec = await this.findKernel(envId, request.kernel);
      kernel = spec.name;
      language = spec.language;
    } else {
      const wanted = (request.language ?? 'python').trim().toLowerCase();
      language = LANGUAGE_ALIASES[wanted] ?? wanted;
      if (!BUILTIN_LANGUAGES[language]) {
        const specs = await this.kernelSpecs(envId);
        throw new HangarError(
          'LANGUAGE_UNAVAILABLE',
          `no builtin driver for "${wanted.slice(0, 40)}"; builtin: ${Object.keys(BUILTIN_LANGUAGES).join(', ')}; or pass kernel = one of the installed kernelspecs: ${specs.map((s) => s.name).join(', ') || 'none'}`,
        );
      }
    }
    // A policy the operator does not allow fails here, before anything starts.
    const policyRequest = definedOnly(request.policy ?? {});
    await this.deps.exec.policyFor(policyRequest);
    this.checkCapacity();
    const sessionId = newId('sess');
    const record: SessionRecord = {
      session_id: sessionId,
      name: request.name ?? sessionId,
      env_id: envId,
      language,
      backend: kernel ? 'kernel' : 'builtin',
      kernel,
      replay: request.replay ?? true,
      created_at: new Date().toISOString(),
      policy: policyRequest,
    };
    const session: Session = { record, policy: null, interpreter: null, peakRss: null, runDir: null, busy: false, dead: null, historyCells: 0, stopping: null, idleTimer: undefined };
    this.sessions.set(sessionId, session);
    try {
      await this.store.save(record);
      await this.store.clearHistory(sessionId);
      await this.queue.run(sessionId, () => this.startInterpreter(session));
    } catch (error) {
      this.sessions.delete(sessionId);
      await this.store.remove(sessionId);
      throw error;
    }
    return this.info(session);
  }

  private async findKernel(envId: string, name: string): Promise<KernelSpec> {
    const specs = await this.kernelSpecs(envId);
    const spec = specs.find((s) => s.name.toLowerCase() === name.trim().toLowerCase());
    if (!spec) {
      throw new HangarError('LANGUAGE_UNAVAILABLE', `no kernelspec "${name.slice(0, 60)}"; installed: ${specs.map((s) => s.name).join(', ') || 'none (install one, e.g. apt-get install python3-ipykernel)'}`);
    }
    return spec;
  }

  /**
   * How the session's interpreter starts under `policy`: at level isolated inside bubblewrap, like
   * one-shot runs (ExecService): the environment read-only at its own path, the workspace
   * read-write at /workspace, a private /tmp, the drivers read-only at /source and the run
   * directory (kernel connection file and ipc sockets) read-write at /run/hangar.
   */
  private async launchContext(session: Session, policy: RunPolicy, programs: string[], extraReadOnly: string[] = []): Promise<LaunchContext> {
    const { record } = session;
    const cwd = await this.deps.host.workspaceFor(record.env_id);
    const envPath = await this.deps.host.envPathFor?.(record.env_id);
    // A fresh directory per interpreter start: the last one's removal may still be under way.
    // A unix socket path is at most 107 bytes: fall back to /tmp when the data dir is deep.
    const base = path.join(this.deps.layout.scratch, `${record.session_id}-`);
    const runDir = await mkdtemp(base.length > 80 ? path.join(os.tmpdir(), 'hangar-sess-') : base);
    await mkdir(path.join(runDir, 'tmp'), { recursive: true });
    session.runDir = runDir;
    const limits = { ...policy.limits, timeoutMs: Number.POSITIVE_INFINITY };
    const isolated = policy.level === 'isolated';
    const tmpHost = path.join(runDir, 'tmp');
    // Inside the sandbox, runDir/tmp is named /tmp (its private tmpfs): listed before runDir itself.
    const view = pathView(isolated, [
      [cwd, SANDBOX_PATHS.work],
      [this.driversDir, SANDBOX_PATHS.src],
      [tmpHost, SANDBOX_PATHS.tmp],
      [runDir, RUN_DIR_INSIDE],
    ]);
    // Tool caches (matplotlib's font cache) go to the private /tmp, not into the workspace.
    const env = viewEnvironment(this.deps.hostEnv, view, {
      home: cwd,
      tmpDir: tmpHost,
      environment: envPath ? { envPath } : undefined,
      extra: { MPLCONFIGDIR: path.posix.join(view.inside(tmpHost), 'mpl') },
    });
    let wrap: LaunchContext['wrap'] = (command) => ({ command });
    if (isolated) {
      const bwrap = (await this.deps.exec.isolation()).bwrap ?? '/usr/bin/bwrap';
      const toolchains = await Promise.all(programs.filter((p) => path.isAbsolute(p)).map((p) => toolchainMounts(p)));
      const readOnly = [...new Set([...toolchains.flat(), ...(envPath ? [envPath] : []), ...extraReadOnly])];
      wrap = (command, runEnv) =>
        sandboxedCommand(
          {
            bwrap,
            workDir: cwd,
            srcDir: this.driversDir,
            network: policy.network,
            tmpBytes: policy.tmpBytes,
            readOnly,
            writable: [{ host: runDir, inside: RUN_DIR_INSIDE }],
            env: runEnv,
          },
          command,
        );
    }
    return { spawn: this.deps.spawn, cwd, env, limits, runDir, isolated, inside: (hostPath) => view.inside(hostPath), wrap };
  }

  private async startInterpreter(session: Session): Promise<void> {
    const { record } = session;
    const policy = await this.deps.exec.policyFor(record.policy ?? {});
    let interpreter: Interpreter;
    try {
      if (record.backend === 'kernel') {
        const spec = await this.findKernel(record.env_id, record.kernel ?? '');
        const resourceDir = SYSTEM_DIRS.some((dir) => isWithin(dir, spec.resourceDir)) ? [] : [spec.resourceDir];
        const launch = await this.launchContext(session, policy, spec.argv.slice(0, 1), resourceDir);
        interpreter = await KernelInterpreter.start(launch, spec);
      } else {
        const builtin = BUILTIN_LANGUAGES[record.language];
        if (!builtin) throw new HangarError('LANGUAGE_UNAVAILABLE', `no builtin driver for ${record.language}`);
        const tool = record.language === 'python' ? await this.deps.host.pythonFor(record.env_id) : (await this.deps.languages.resolve(builtin.tool)).tool;
        const launch = await this.launchContext(session, policy, [tool]);
        interpreter = await DriverInterpreter.start(launch, [tool, ...builtin.flags, launch.inside(path.join(this.driversDir, builtin.driver))], builtin.encoding);
      }
    } catch (error) {
      await this.removeRunDir(session);
      if (error instanceof InterpreterDied) throw new HangarError('KERNEL_DIED', `the ${record.language} interpreter did not start: ${error.message}`);
      throw error;
    }
    session.policy = policy;
    session.interpreter = interpreter;
    session.peakRss?.close();
    session.peakRss = new PeakRssReader(interpreter.pid);
    session.dead = null;
    session.stopping = null;
    void interpreter.died.then((death) => {
      if (session.interpreter !== interpreter) return;
      session.interpreter = null;
      void this.removeRunDir(session);
      if (session.stopping === null) session.dead = death.reason;
    });
    this.touch(session);
  }

  /** Releases what the last interpreter held: its /proc file and its run directory. */
  private async removeRunDir(session: Session): Promise<void> {
    session.peakRss?.close();
    session.peakRss = null;
    const dir = session.runDir;
    session.runDir = null;
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private async stopInterpreter(session: Session, reason: string): Promise<void> {
    clearTimeout(session.idleTimer);
    const interpreter = session.interpreter;
    if (!interpreter) return;
    session.stopping = reason;
    await interpreter.stop(reason);
    session.interpreter = null;
    await this.removeRunDir(session);
  }

  /** Idle sessions stop after --session-idle-timeout and become dormant (history kept). */
  private touch(session: Session): void {
    clearTimeout(session.idleTimer);
    const seconds = this.deps.config.sessionIdleTimeout;
    if (seconds <= 0) return;
    session.idleTimer = setTimeout(() => {
      void this.queue.run(session.record.session_id, async () => {
        if (!session.busy && session.interpreter) await this.stopInterpreter(session, 'idle timeout');
      });
    }, seconds * 1000);
    session.idleTimer.unref();
  }

  async execute(sessionId: string, code: string, options: { timeoutS?: number; signal?: AbortSignal } = {}): Promise<ReplResult> {
    const session = this.get(sessionId);
    // A per-cell timeout within the operator's maximum; otherwise the session's default.
    const cellTimeoutMs = options.timeoutS === undefined ? undefined : (await this.deps.exec.policyFor({ ...session.record.policy, timeoutS: options.timeoutS })).limits.timeoutMs;
    return this.queue.run(sessionId, async () => {
      if (this.sessions.get(sessionId) !== session) this.get(sessionId);
      if (session.dead) {
        throw new HangarError('KERNEL_DIED', `session ${sessionId}'s interpreter died (${session.dead}); its state is lost. Call repl_restart to start a fresh one`);
      }
      const warnings: string[] = [];
      let replayed: number | null = null;
      if (!session.interpreter) {
        this.checkCapacity();
        await this.startInterpreter(session);
        replayed = await this.replay(session, warnings);
      }
      session.busy = true;
      try {
        return await this.runCell(session, code, cellTimeoutMs, options.signal, warnings, replayed);
      } finally {
        session.busy = false;
        this.touch(session);
      }
    });
  }

  private async replay(session: Session, warnings: string[]): Promise<number> {
    const cells = session.record.replay ? await this.store.history(session.record.session_id) : [];
    if (!session.record.replay) {
      warnings.push('restored: a new interpreter was started; replay is off for this session, so earlier state is gone');
      await this.store.clearHistory(session.record.session_id);
      session.historyCells = 0;
      return 0;
    }
    let done = 0;
    for (const code of cells) {
      const interpreter = session.interpreter;
      if (!interpreter) break;
      const sink = new CellCollector(this.deps.content, 1000);
      const reply = await interpreter.execute(code, sink).catch((error: unknown) => error);
      if (reply instanceof InterpreterDied) throw new HangarError('KERNEL_DIED', `the interpreter died while replaying history cell ${done + 1}: ${reply.message}; call repl_restart`);
      if ((reply as CellReply).status !== 'ok') warnings.push(`replay: history cell ${done + 1} failed this time (${(reply as CellReply).error?.name ?? 'error'})`);
      done++;
    }
    warnings.unshift(`restored: ${done} cells replayed`);
    return done;
  }

  private async runCell(session: Session, code: string, cellTimeoutMs: number | undefined, signal: AbortSignal | undefined, warnings: string[], replayed: number | null): Promise<ReplResult> {
    const interpreter = session.interpreter;
    const policy = session.policy;
    if (!interpreter || !policy) throw new HangarError('INTERNAL', 'no interpreter');
    const timeoutMs = cellTimeoutMs ?? policy.limits.timeoutMs;
    const collector = new CellCollector(this.deps.content, policy.limits.maxOutputChars);
    const started = performance.now();
    const running = interpreter.execute(code, collector).then(
      (reply) => ({ kind: 'reply' as const, reply }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    );
    let stop: { status: ExecStatus; why: string } | null = null;
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<{ kind: 'stop' }>((resolve) => {
      timer = setTimeout(() => {
        stop = { status: 'timeout', why: `the cell timed out after ${timeoutMs / 1000} s` };
        resolve({ kind: 'stop' });
      }, timeoutMs);
      const onAbort = (): void => {
        stop = { status: 'cancelled', why: 'the call was cancelled' };
        resolve({ kind: 'stop' });
      };
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let outcome = await Promise.race([running, stopped]);
    clearTimeout(timer);
    let stateLost = false;
    if (outcome.kind === 'stop') {
      await interpreter.interrupt();
      outcome = await Promise.race([running, sleep(this.deps.interruptGraceMs ?? 3000).then(() => ({ kind: 'stop' as const }))]);
      if (outcome.kind === 'stop') {
        stateLost = true;
        await this.stopInterpreter(session, 'did not return to idle after an interrupt');
        await this.store.clearHistory(session.record.session_id);
        session.historyCells = 0;
        await this.startInterpreter(session);
        warnings.push('state lost: the interpreter did not return to idle after the interrupt, so it was killed and restarted; earlier variables are gone');
      }
    }
    if (outcome.kind === 'failed') {
      if (!(outcome.error instanceof InterpreterDied)) throw outcome.error;
      if (session.stopping) {
        stop = { status: 'killed', why: `the session was ${session.stopping}` };
      } else {
        throw new HangarError('KERNEL_DIED', `${outcome.error.message} while running the cell; its state is lost. Call repl_restart to start a fresh interpreter`);
      }
    }
    const reply = outcome.kind === 'reply' ? outcome.reply : null;
    // A cell that made the kernel refuse a fork ends the interpreter (what it forked would outlive
    // the cell): this cell's result says so, not whichever cell the next watch tick lands in.
    const forkRefused = reply && !stop ? interpreter.endIfForkRefused() : null;
    if (forkRefused) {
      await interpreter.died;
      stateLost = true;
      stop = { status: 'killed', why: `${forkRefused}: the interpreter and every process it started were ended, so its state is lost; call repl_restart to start a fresh one` };
    }
    const halted = stop as { status: ExecStatus; why: string } | null;
    if (reply?.status === 'ok' && !halted) {
      void this.store.appendHistory(session.record.session_id, code).catch((error: unknown) => {
        this.deps.logger.warn('could not append to a session history', { id: session.record.session_id, error: String(error) });
      });
      session.historyCells++;
    }
    const peak = session.interpreter ? session.peakRss?.bytes() : undefined;
    return collector.finish({
      sessionId: session.record.session_id,
      status: halted ? halted.status : (reply?.status ?? 'error'),
      result: reply?.result ?? null,
      error: halted ? { name: halted.status === 'timeout' ? 'Timeout' : halted.status === 'cancelled' ? 'Cancelled' : 'Killed', message: `${halted.why}${stateLost ? '' : '; the cell was interrupted and the session kept its state'}`, traceback: reply?.error?.traceback ?? null } : (reply?.error ?? null),
      executionCount: reply?.executionCount ?? null,
      durationMs: performance.now() - started,
      peakMemoryMb: peak === undefined ? null : Math.round((peak / 1048576) * 100) / 100,
      sandbox: this.deps.exec.appliedSandbox({ ...policy, limits: { ...policy.limits, timeoutMs } }),
      warnings: [...policy.warnings, ...warnings],
      replayedCells: replayed,
      stateLost,
    });
  }

  /** Interrupts the running cell, if any; not queued behind it. */
  async interrupt(sessionId: string): Promise<{ interrupted: boolean; status: SessionStatus }> {
    const session = this.get(sessionId);
    const busy = session.busy && session.interpreter !== null;
    if (busy) await session.interpreter?.interrupt();
    return { interrupted: busy, status: this.info(session).status };
  }

  /** A fresh interpreter with empty state and history; a running cell is killed, not waited for. */
  async restart(sessionId: string): Promise<SessionInfo> {
    const session = this.get(sessionId);
    await this.stopInterpreter(session, 'restarted');
    return this.queue.run(sessionId, async () => {
      await this.stopInterpreter(session, 'restarted');
      session.dead = null;
      await this.store.clearHistory(sessionId);
      session.historyCells = 0;
      this.checkCapacity();
      await this.startInterpreter(session);
      return this.info(session);
    });
  }

  async destroy(sessionId: string): Promise<void> {
    const session = this.get(sessionId);
    this.sessions.delete(sessionId);
    await this.stopInterpreter(session, 'destroyed');
    await this.store.remove(sessionId);
  }

  /** Stops every interpreter; sessions stay on disk and come back dormant. */
  /** Ends and removes every session of an environment (destroy_environment ends them first). */
  async destroyEnv(envId: string): Promise<number> {
    const ids = [...this.sessions.values()].filter((s) => s.record.env_id === envId).map((s) => s.record.session_id);
    for (const id of ids) await this.destroy(id);
    return ids.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.sessions.values()].map((s) => this.stopInterpreter(s, 'stopped: the server is shutting down')));
    await this.store.close();
  }
}
