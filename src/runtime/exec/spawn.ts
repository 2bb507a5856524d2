import { spawn as spawnChild, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContentStore } from '../content/content-store.js';
import { newId } from '../ids.js';
import { BWRAP_ARGS_FD } from '../sandbox/bwrap.js';
import { RunCgroup, type CgroupSupport } from '../sandbox/cgroups.js';
import { launcherArgv } from '../sandbox/launcher.js';
import type { Limits } from '../sandbox/limits.js';
import { StreamCapture, type CapturedOutput } from './capture.js';
import { listProcs, readPeakRssBytes, readProc, relatedProcs, type ProcInfo } from './procfs.js';

export type ExecStatus = 'ok' | 'error' | 'timeout' | 'killed' | 'cancelled';

/** What a finished process was: one shape for success and failure. */
export interface ExecOutcome {
  status: ExecStatus;
  exitCode: number | null;
  signal: string | null;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  durationMs: number;
  cpuMs: number | null;
  peakMemoryMb: number | null;
  /** Why the run was stopped, in words an agent can act on; null when it ended by itself. */
  killReason: string | null;
  enforcement: 'cgroup' | 'rlimit';
}

/** How a process is started: everything fixed before its run begins. */
export interface LaunchRequest {
  /** The command to run (absolute program path first); wrapped by the launcher. */
  command: string[];
  cwd: string;
  env: Record<string, string>;
  limits: Limits;
  /**
   * A long-lived interactive process (REPL driver, Jupyter kernel) on the same launch path:
   * stdout and stderr go only to onOutput (the caller captures per cell), and `extraPipes`
   * more pipes are opened as fds 3, 4, ... for a private protocol. No timeout when timeoutMs is
   * not finite: the caller bounds each cell instead.
   */
  interactive?: { extraPipes: number };
  /**
   * The command waits at a gate (GATE_ARGV, reading fd 3) until the run begins: the warm path
   * launches a sandbox ahead of the call, and the call only opens the gate.
   */
  gated?: boolean;
  /**
   * The command is a wrapper (bubblewrap) that reports a program killed by signal N as exit code
   * 128 + N: report it as that signal. (A program that itself exits with such a code reads the same.)
   */
  signalAsExitCode?: boolean;
  /** Written to a pipe on fd BWRAP_ARGS_FD and closed: bubblewrap's options (sandboxedCommand). */
  argsPipe?: Buffer;
}

/**
 * Gets a run's output as it arrives. A returned promise is backpressure: the stream is paused until
 * it settles (a cell's capture spilling to disk slower than the program prints).
 */
export type OutputListener = (stream: 'stdout' | 'stderr', chunk: Buffer) => Promise<void> | undefined | void;

/** What belongs to one run: its input, its cancellation, where its output streams to. */
export interface RunStart {
  stdin?: string | Buffer;
  signal?: AbortSignal;
  onOutput?: OutputListener;
}

export type SpawnRequest = LaunchRequest & RunStart;

/** A process launched ahead of its run, inside its cgroup and limits, not yet begun. */
export interface LaunchedProcess {
  readonly pid: number;
  /** False once the process has exited (a sandbox that failed to set up): it cannot begin. */
  readonly alive: boolean;
  /** Starts the run: the timeout counts from here, stdin is written, a gated command passes its gate. */
  begin(run: RunStart): RunningProcess;
  /** Ends a process that never began, with everything it started, and removes its cgroup. */
  discard(): Promise<void>;
}

export interface RunningProcess {
  readonly pid: number;
  readonly done: Promise<ExecOutcome>;
  /** Ends the whole process tree; the outcome reports `reason`. */
  kill(reason: string): void;
  /** Sends a signal to the run's process group (e.g. SIGINT to interrupt a REPL cell). */
  signalGroup(signal: NodeJS.Signals): void;
  /**
   * Applies the process limit's rule now instead of at the next watch tick: when the kernel has
   * refused a fork, the run is ended and the reason returned (a REPL asks as each cell ends, so the
   * cell that forked too much is the one that says so, not a later one).
   */
  endIfForkRefused(): string | null;
  /** The extra pipes of an interactive process: fds 3, 4, ... in order. */
  readonly pipes: readonly (NodeJS.ReadableStream | NodeJS.WritableStream)[];
}

export interface SpawnDeps {
  cgroups: CgroupSupport;
  content: ContentStore;
}

const TICK_MS = 1000 / 100;
/** Not HANGAR_*: user code sees it, and HANGAR_* names are kept for operator settings. */
export const RUN_TAG_VARIABLE = 'HGR_RUN_TAG';

export interface LaunchPlan {
  /** The run's cgroup, or undefined where cgroups are not writable (then rlimits apply). */
  group: RunCgroup | undefined;
  /** Launcher argv: joins the group, sets rlimits, then execs the command. */
  argv: string[];
}

/**
 * The one launch path of every process Hangar starts (one-shot runs here, background processes in
 * runtime/processes): a fresh cgroup when available and the launcher argv that enters it. The
 * caller owns `group` and must remove it when the run is over.
 */
export async function prepareLaunch(
  cgroups: CgroupSupport,
  command: string[],
  limits: Limits,
  options: { cpuWatchdog?: boolean } = {},
): Promise<LaunchPlan> {
  const group = await RunCgroup.create(cgroups, newId('run'), {
    memoryBytes: limits.memoryBytes,
    maxProcesses: limits.maxProcesses,
  });
  const argv = launcherArgv(command, {
    limits,
    cgroupProcFiles: group?.procFiles() ?? [],
    // Where a watchdog ends the run at the CPU limit for the whole tree and says so, the
    // per-process rlimit, one second later, is only the backstop.
    cpuSecondsSlack: group && options.cpuWatchdog ? 1 : 0,
    rlimitMemoryAndProcesses: group === undefined,
  });
  return { group, argv };
}

/**
 * The pid of a child that `prepareLaunch` made a group for, once it has started; when it could not
 * start, the group is removed and the spawn error is thrown.
 */
export async function spawnedPid(child: ChildProcess, group: RunCgroup | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? -1));
    child.once('error', reject);
  }).catch(async (error: unknown) => {
    await group?.remove();
    throw error;
  });
}

/** A spawn's stdio with a pipe on BWRAP_ARGS_FD when there are options to hand bubblewrap. */
export function withArgsPipe(stdio: ('pipe' | 'ignore')[], argsPipe: Buffer | undefined): ('pipe' | 'ignore')[] {
  if (!argsPipe) return stdio;
  if (stdio.length > BWRAP_ARGS_FD) throw new Error(`fd ${BWRAP_ARGS_FD} is taken`);
  return [...stdio, ...Array<'ignore'>(BWRAP_ARGS_FD - stdio.length).fill('ignore'), 'pipe'];
}

/** Hands bubblewrap its options and closes the pipe; a process that died first gets nothing. */
export function writeArgsPipe(child: ChildProcess, argsPipe: Buffer | undefined): void {
  const pipe = (child.stdio as readonly unknown[])[BWRAP_ARGS_FD] as Writable | null | undefined;
  if (!argsPipe || !pipe) return;
  pipe.on('error', () => undefined); // bubblewrap died before reading: its exit reports why
  pipe.end(argsPipe);
}

/** How often the cgroup is checked for the limits the kernel does not end a run for by itself. */
const WATCH_MS = 100;
/**
 * The same for a long-lived interactive process (REPL driver, kernel): its idle hours would otherwise
 * be ten wake-ups a second, each landing on some cell; pids.max caps the tree meanwhile anyway.
 */
const INTERACTIVE_WATCH_MS = 1000;

function signalFromExitCode(code: number | null): NodeJS.Signals | null {
  if (code === null || code <= 128 || code >= 128 + 65) return null;
  const entry = Object.entries(osConstants.signals).find(([, number]) => number === code - 128);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/** The execution primitive: launch, then begin at once. */
export async function spawnProcess(deps: SpawnDeps, request: SpawnRequest): Promise<RunningProcess> {
  const launched = await launchProcess(deps, request);
  return launched.begin(request);
}

/**
 * Starts a command in its own session and process group inside a fresh cgroup (where available),
 * captures output with bounded memory, enforces the timeout from begin(), and on any ending kills
 * every process the run started, including ones that left the group with setsid.
 */
export async function launchProcess(deps: SpawnDeps, request: LaunchRequest): Promise<LaunchedProcess> {
  const { limits } = request;
  if (request.gated && request.interactive) throw new Error('a gated process has no extra pipes');
  const { group, argv } = await prepareLaunch(deps.cgroups, request.command, limits, { cpuWatchdog: true });
  // Without cgroups, a tag in the environment finds double-forked daemons whose parent is gone.
  const tag = group ? undefined : newId('run');
  const extraPipes = request.gated ? 1 : (request.interactive?.extraPipes ?? 0);
  // stdin, stdout and stderr are always pipes (the stdio list only grows past fd 2).
  const child = spawnChild(argv[0] ?? '/bin/sh', argv.slice(1), {
    cwd: request.cwd,
    env: tag ? { ...request.env, [RUN_TAG_VARIABLE]: tag } : request.env,
    detached: true,
    stdio: withArgsPipe(['pipe', 'pipe', 'pipe', ...Array<'pipe'>(extraPipes).fill('pipe')], request.argsPipe),
  }) as ChildProcessByStdio<Writable, Readable, Readable>;
  const childPid = await spawnedPid(child, group);
  writeArgsPipe(child, request.argsPipe);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pipes = child.stdio.slice(3, 3 + extraPipes).filter((p): p is NonNullable<typeof p> => p !== null && p !== undefined) as (NodeJS.ReadableStream | NodeJS.WritableStream)[];
  const gate = request.gated ? (pipes.shift() as NodeJS.WritableStream & { on(event: 'error', listener: () => void): void }) : undefined;
  gate?.on('error', () => undefined);

  let onOutput: RunStart['onOutput'];
  const stdout = new StreamCapture(limits.maxOutputChars, deps.content, 'stdout');
  const stderr = new StreamCapture(limits.maxOutputChars, deps.content, 'stderr');
  const pump = (stream: NodeJS.ReadableStream & { pause(): void; resume(): void }, capture: StreamCapture, name: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        const listened = onOutput?.(name, chunk);
        const captured = request.interactive ? undefined : capture.push(chunk);
        if (listened || captured) {
          stream.pause();
          const resume = (): void => void stream.resume();
          void Promise.all([listened, captured]).then(resume, resume);
        }
      });
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  const pumped = Promise.all([pump(child.stdout, stdout, 'stdout'), pump(child.stderr, stderr, 'stderr')]);
  child.stdin.on('error', () => undefined); // A program that exits without reading its stdin is fine.

  // Without cgroups, follow the tree through /proc so that a kill can still reach every member.
  const fallback = tag ? new ProcfsTracker(childPid, tag) : undefined;
  fallback?.start();
  const killTree = async (): Promise<void> => {
    if (group) await group.killAll();
    else await fallback?.killAll();
    try {
      process.kill(-childPid, 'SIGKILL');
    } catch {
      // Group already empty.
    }
  };

  let begun = false;
  const begin = (run: RunStart): RunningProcess => {
    if (begun) throw new Error('a launched process begins once');
    begun = true;
    onOutput = run.onOutput;
    const started = performance.now();
    if (run.stdin !== undefined && run.stdin.length > 0) child.stdin.end(run.stdin);
    else child.stdin.end();

    let killReason: string | null = null;
    let killedAs: ExecStatus | null = null;
    const processLimitReason = `process limit ${limits.maxProcesses ?? '?'} reached (fork refused)`;
    let resolveKill: () => void = () => undefined;
    const killRequested = new Promise<void>((resolve) => {
      resolveKill = resolve;
    });
    const requestKill = (reason: string, status: ExecStatus): void => {
      if (killReason !== null) return;
      killReason = reason;
      killedAs = status;
      resolveKill();
    };

    const timer = Number.isFinite(limits.timeoutMs)
      ? setTimeout(() => requestKill(`timed out after ${limits.timeoutMs / 1000} s`, 'timeout'), limits.timeoutMs)
      : undefined;
    // The CPU limit counts the whole tree (an rlimit counts each process alone), and a run that hits
    // its process limit is a fork bomb or about to spin on failed forks: both end the run.
    const watch =
      group && (limits.cpuSeconds !== undefined || limits.maxProcesses !== undefined)
        ? setInterval(() => {
            void group.metrics().then((m) => {
              if (limits.cpuSeconds !== undefined && (m.cpuMs ?? 0) >= limits.cpuSeconds * 1000) {
                requestKill(`CPU time limit ${limits.cpuSeconds} s exceeded`, 'killed');
              } else if (m.processLimitHit) {
                requestKill(processLimitReason, 'killed');
              }
            });
          }, request.interactive ? INTERACTIVE_WATCH_MS : WATCH_MS)
        : undefined;
    const onAbort = (): void => requestKill('cancelled by the caller', 'cancelled');
    if (run.signal?.aborted) onAbort();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    // Everything of the run is in place: let the program start.
    gate?.end('\n');

    const done = (async (): Promise<ExecOutcome> => {
      const first = await Promise.race([exited.then(() => 'exit' as const), killRequested.then(() => 'kill' as const)]);
      if (first === 'kill') await killTree();
      const exit = await exited;
      const durationMs = performance.now() - started;
      clearTimeout(timer);
      clearInterval(watch);
      const wrappedSignal = request.signalAsExitCode && exit.signal === null ? signalFromExitCode(exit.code) : null;
      const code = wrappedSignal ? null : exit.code;
      const signal = wrappedSignal ?? exit.signal;
      run.signal?.removeEventListener('abort', onAbort);
      // Whatever the main process left behind (daemons, setsid children) ends with it.
      await killTree();
      // A process outside our reach could hold the pipes open; do not wait on it forever.
      await Promise.race([pumped, sleep(2000)]);
      child.stdout.destroy();
      child.stderr.destroy();
      fallback?.stop();
      const metrics = group ? await group.metrics() : undefined;
      await group?.remove();
      const cpuMs = metrics?.cpuMs ?? fallback?.cpuMs ?? null;
      const peakBytes = metrics?.peakMemoryBytes ?? fallback?.peakRssBytes ?? null;

      let status: ExecStatus = code === 0 ? 'ok' : 'error';
      let reason: string | null = killReason;
      const mb = (bytes: number | undefined): number => Math.round((bytes ?? 0) / 1048576);
      // A shell reports a child killed by SIGXFSZ / SIGXCPU as exit code 128 + N: the limit was hit all the same.
      const limitSignal = signal ?? signalFromExitCode(code);
      if (killedAs) status = killedAs;
      else if (limitSignal === 'SIGXFSZ') {
        status = 'killed';
        reason = `file size limit ${mb(limits.fileSizeBytes)} MB exceeded`;
      } else if (limitSignal === 'SIGXCPU' || (signal === 'SIGKILL' && limits.cpuSeconds !== undefined && (cpuMs ?? 0) >= limits.cpuSeconds * 900)) {
        status = 'killed';
        reason = `CPU time limit ${limits.cpuSeconds ?? '?'} s exceeded`;
      } else if (metrics?.memoryLimitHit && code !== 0 && limits.memoryBytes) {
        status = 'killed';
        reason = `memory limit ${mb(limits.memoryBytes)} MB exceeded`;
      } else if (metrics?.processLimitHit) {
        // Even when the main process exits 0, forks were refused and the rest was killed with the run.
        status = 'killed';
        reason = processLimitReason;
      }
      return {
        status,
        exitCode: code,
        signal,
        stdout: await stdout.finish(),
        stderr: await stderr.finish(),
        durationMs: Math.round(durationMs * 100) / 100,
        cpuMs: cpuMs === null ? null : Math.round(cpuMs * 100) / 100,
        peakMemoryMb: peakBytes === null ? null : Math.round((peakBytes / 1048576) * 100) / 100,
        killReason: reason,
        enforcement: group ? 'cgroup' : 'rlimit',
      };
    })();

    return {
      pid: childPid,
      done,
      kill: (reason) => requestKill(reason, 'killed'),
      endIfForkRefused: () => {
        if (limits.maxProcesses === undefined || !group?.forkRefused()) return null;
        requestKill(processLimitReason, 'killed');
        return killReason;
      },
      signalGroup: (sig) => {
        try {
          process.kill(-childPid, sig);
        } catch {
          // Already gone: the outcome will say so.
        }
      },
      pipes,
    };
  };

  return {
    pid: childPid,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    begin,
    async discard() {
      if (begun) return;
      begun = true;
      await killTree();
      await exited;
      gate?.end();
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      fallback?.stop();
      await group?.remove();
    },
  };
}

/**
 * Tree tracking for machines without writable cgroups: polls /proc for the run's relatives, by
 * parentage and session, and by the run's tag in the environment, which survives a double fork
 * (setsid, then the middle process exits) that cuts every parent link.
 */
class ProcfsTracker {
  private readonly known = new Map<number, number>();
  private readonly checked = new Set<string>();
  private rootStartTime: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  cpuMs: number | null = null;
  peakRssBytes: number | null = null;

  constructor(
    private readonly rootPid: number,
    private readonly tag: string,
  ) {
    this.known.set(rootPid, -1);
  }

  /** Processes born since the run started that carry its tag; each one is read once. */
  private async tagged(all: ProcInfo[]): Promise<ProcInfo[]> {
    this.rootStartTime ??= (await readProc(this.rootPid))?.startTime;
    if (this.rootStartTime === undefined) return [];
    const needle = `\0${RUN_TAG_VARIABLE}=${this.tag}\0`;
    const found: ProcInfo[] = [];
    for (const p of all) {
      const key = `${p.pid}:${p.startTime}`;
      if (this.known.has(p.pid) || p.startTime < this.rootStartTime || this.checked.has(key)) continue;
      this.checked.add(key);
      const environ = await readFile(`/proc/${p.pid}/environ`, 'latin1').catch(() => '');
      if (`\0${environ}`.includes(needle)) found.push(p);
    }
    return found;
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), 50);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    const all = await listProcs();
    for (const p of await this.tagged(all)) this.known.set(p.pid, p.startTime);
    const related = relatedProcs(all, new Set([this.rootPid, ...this.known.keys()]));
    let ticks = 0;
    for (const p of related) {
      this.known.set(p.pid, p.startTime);
      ticks += p.utimeTicks + p.stimeTicks;
      const rss = await readPeakRssBytes(p.pid);
      if (rss !== undefined) this.peakRssBytes = Math.max(this.peakRssBytes ?? 0, rss);
    }
    if (related.length > 0) this.cpuMs = Math.max(this.cpuMs ?? 0, ticks * TICK_MS);
  }

  async killAll(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      await this.poll();
      let alive = 0;
      for (const [pid, startTime] of this.known) {
        const info = await readProc(pid);
        if (!info || info.state === 'Z' || (startTime !== -1 && info.startTime !== startTime)) continue;
        alive++;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      if (alive === 0) return;
      await sleep(10);
    }
  }
}
