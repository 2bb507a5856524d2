import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { ContentStore } from '../content/content-store.js';
import { HangarError } from '../errors.js';
import { newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { LanguageEntry, RunFiles } from '../languages/table.js';
import type { CgroupSupport } from '../sandbox/cgroups.js';
import { probeIsolation, SANDBOX_PATHS, sandboxedCommand, toolchainMounts, type IsolationSupport } from '../sandbox/bwrap.js';
import { GATE_ARGV } from '../sandbox/launcher.js';
import { describeLimits, type AppliedSandbox, type Limits } from '../sandbox/limits.js';
import { resolvePolicy, type PolicyRequest, type RunPolicy } from '../sandbox/policy.js';
import type { DataLayout } from '../store/layout.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { prepareSource, sourceFileName } from './prepare-source.js';
import { toExecutionResult, type ExecutionResult } from './result.js';
import { pathView, viewEnvironment, type PathView, type RunEnvironment } from './run-view.js';
import { launchProcess, spawnProcess, type ExecOutcome, type LaunchedProcess, type OutputListener, type RunningProcess } from './spawn.js';
import { StandbyPool, type Standby } from './standby-pool.js';
import { rejectedSource, runSteps, type Step } from './steps.js';


export type { RunEnvironment } from './run-view.js';

export interface RunCodeRequest {
  language: string;
  code: string;
  stdin?: string;
  args?: string[];
  /** Relative path → text, written into the working directory before the run. */
  files?: Record<string, string>;
  /** Sandbox level, network and limits asked for by the call; checked against the operator's policy. */
  policy?: PolicyRequest;
  /** Omitted: a scratch working directory made for this run and removed after it. */
  environment?: RunEnvironment;
  signal?: AbortSignal;
  onOutput?: OutputListener;
}

/** A script file already on disk (a workspace file), run with the workspace as working directory. */
export interface RunFileRequest {
  /** Absolute path, already checked with resolveInside by the caller. */
  file: string;
  cwd: string;
  args?: string[];
  stdin?: string;
  /** Overrides the language's program (e.g. an environment's python). */
  interpreter?: string;
  environment?: RunEnvironment;
  policy?: PolicyRequest;
  signal?: AbortSignal;
  onOutput?: OutputListener;
}

/** A command line (argv) run in a directory: the commands of jobs. */
export interface RunCommandRequest {
  command: string[];
  cwd: string;
  env?: Record<string, string>;
  environment?: RunEnvironment;
  policy?: PolicyRequest;
  signal?: AbortSignal;
}

export interface ExecServiceDeps {
  config: Config;
  layout: DataLayout;
  content: ContentStore;
  languages: LanguageRegistry;
  cgroups: CgroupSupport;
  hostEnv: NodeJS.ProcessEnv;
}

/** A run's private directories under scratch/: source, build output, TMPDIR, and a work dir when no workspace is given. */
interface RunDirs {
  root: string;
  work: string;
  src: string;
  tmp: string;
  build: string;
}

interface SourceRun {
  entry: LanguageEntry;
  tool: string;
  code: string;
  /** Run this file where it is (a workspace script) instead of a copy in the run's src/. */
  inPlace?: string;
  /** The working directory; omitted: the run's own scratch work directory. */
  cwd?: string;
  /** Relative path → text, written into the working directory before the run. */
  files?: Record<string, string>;
  args?: string[];
  stdin?: string;
  policy: RunPolicy;
  environment?: RunEnvironment;
  signal?: AbortSignal;
  onOutput?: OutputListener;
}

/** Where a run's host directories appear to the program (see run-view.ts). */
interface RunView extends PathView {
  cwd: string;
  dirs: RunDirs;
}

const BUILD_INSIDE = '/build';

/** How a source run is started, with the directories it was planned for. */
interface SourcePlan {
  view: RunView;
  env: Record<string, string>;
  readOnly: string[];
  steps: Step[];
  /** The run step as a command that starts ahead and waits at the gate itself (LanguageEntry.prestart). */
  prestart?: string[];
}

/** A sandbox launched ahead of a run (see standby-pool.ts): its directories, plan and gated process. */
interface SourceStandby extends Standby {
  plan: SourcePlan;
  source: string;
  launched: LaunchedProcess;
  /** The shared directories it binds (workspace, environment), as identified when it was set up. */
  binds: BindIdentity[];
}

/** A bind mount follows the directory it was made from: a directory removed and made again is another one. */
interface BindIdentity {
  path: string;
  dev: number;
  ino: number;
}

async function bindIdentities(paths: string[]): Promise<BindIdentity[]> {
  return Promise.all(paths.map(async (p) => ({ path: p, ...(await stat(p).then((st) => ({ dev: st.dev, ino: st.ino }))) })));
}

/** How long an unused standby sandbox waits before it is ended. */
const STANDBY_IDLE_MS = 60_000;

const PROBE_DELAY_MS = 250;

/** One-shot execution: the engine behind run_code, execute_code, run scripts, job commands and `hangar run`. */
export class ExecService {
  /** Runs under way, so that closing the runtime ends every process it started. */
  private readonly active = new Set<RunningProcess>();
  /** Scratch directories of runs under way: /cleanup must not remove them. */
  private readonly activeDirs = new Set<string>();
  /** When this service (and so this server) started: content made since then belongs to its callers. */
  readonly startedAt = Date.now();

  /** Whether bubblewrap works here: probed once per runtime, on first need or soon after start. */
  private isolationProbe: Promise<IsolationSupport> | undefined;
  private readonly probeTimer: NodeJS.Timeout;
  private readonly standbys: StandbyPool<SourceStandby>;

  constructor(private readonly deps: ExecServiceDeps) {
    this.standbys = new StandbyPool({ maxReady: deps.config.warmSandboxes, idleMs: STANDBY_IDLE_MS });
    // Soon, not now: a client's first requests need no sandbox, and the probe spawns bubblewrap
    // while the server is answering them (start-up is a target). A run that comes first starts it.
    this.probeTimer = setTimeout(() => void this.isolation(), PROBE_DELAY_MS);
    this.probeTimer.unref();
  }

  isolation(): Promise<IsolationSupport> {
    this.isolationProbe ??= probeIsolation();
    return this.isolationProbe;
  }

  /** Operator defaults, with a call's stricter values; a weaker ask is POLICY_DENIED. */
  async policyFor(request: PolicyRequest = {}): Promise<RunPolicy> {
    return resolvePolicy(this.deps.config, await this.isolation(), request);
  }

  /** Processes launched ahead and waiting for a run (the warm path). */
  get standbyCount(): number {
    return this.standbys.readyCount;
  }

  /** Processes running now (compile steps and programs). */
  get runningCount(): number {
    return this.active.size;
  }

  /** Removes scratch directories of runs that are not under way (left by a failed removal); returns how many. */
  async cleanScratch(): Promise<number> {
    const names = await readdir(this.deps.layout.scratch).catch(() => [] as string[]);
    let removed = 0;
    // Only one-shot runs' and standbys' directories (run_…, warm_…): sessions own theirs (sess_…) while they live.
    for (const name of names.filter((n) => n.startsWith('run_') || n.startsWith('warm_'))) {
      const dir = path.join(this.deps.layout.scratch, name);
      if (this.activeDirs.has(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Ends every standby now (the next runs of each shape are cold); launches under way still complete. */
  async endStandbys(): Promise<void> {
    await this.standbys.drop(() => true);
  }

  /** Ends the standby sandboxes that see `dir` or anything under it (an environment about to be removed). */
  async dropStandbys(dir: string): Promise<void> {
    // Keys hold paths as JSON strings: a match of the opening quote and the path is a prefix match.
    const prefix = JSON.stringify(dir).slice(0, -1);
    await this.standbys.drop((key) => key.includes(prefix));
  }

  async close(): Promise<void> {
    clearTimeout(this.probeTimer);
    await this.standbys.close();
    const running = [...this.active];
    for (const run of running) run.kill('the server is shutting down');
    await Promise.allSettled(running.map((run) => run.done));
  }

  async runCode(request: RunCodeRequest): Promise<ExecutionResult> {
    const { entry, tool } = await this.deps.languages.resolve(request.language);
    const policy = await this.policyFor(request.policy);
    // With an environment the program works in its workspace: no scratch work directory to make.
    return this.runSource({ ...request, entry, tool, cwd: request.environment?.workspacePath, policy });
  }

  /** Runs a file in place (workspace_run_script): the language comes from its extension. */
  async runFile(request: RunFileRequest): Promise<ExecutionResult> {
    const entry = this.deps.languages.byExtension(request.file);
    if (!entry) {
      const known = this.deps.languages.entries().flatMap((l) => l.extensions);
      throw new HangarError('LANGUAGE_UNAVAILABLE', `no language runs "${path.extname(request.file) || path.basename(request.file)}" files; known extensions: ${known.join(', ')}`);
    }
    const tool = request.interpreter ?? (await this.deps.languages.resolve(entry.id)).tool;
    const policy = await this.policyFor(request.policy);
    const code = await readFile(request.file, 'utf8');
    return this.runSource({ ...request, entry, tool, code, inPlace: request.file, policy });
  }

  /** Runs an argv in a directory with a scrubbed environment plus `env` (job commands). */
  async runCommand(request: RunCommandRequest): Promise<ExecutionResult> {
    const policy = await this.policyFor(request.policy);
    return this.withRunDirs(async (dirs) => {
      const view = this.view(policy, request.cwd, dirs);
      const env = this.environmentFor(view, request.environment, request.env ?? {});
      const readOnly = request.environment ? [request.environment.envPath] : [];
      const { outcome, warnings } = await runSteps([{ phase: 'run', command: request.command }], policy.limits, (step, stepLimits) =>
        this.spawnTracked(policy, view, readOnly, step, stepLimits, env, request.signal),
      );
      return toExecutionResult(outcome, this.appliedSandbox(policy), [...policy.warnings, ...warnings]);
    });
  }

  private async withRunDirs<T>(work: (dirs: RunDirs) => Promise<T>, options: { work?: boolean } = {}): Promise<T> {
    const dirs = await this.makeRunDirs(options);
    try {
      return await work(dirs);
    } finally {
      await this.removeRunDirs(dirs);
    }
  }

  /** `warm`: a standby's directories (warm_…), set up before their run is known. */
  private async makeRunDirs(options: { work?: boolean; warm?: boolean } = {}): Promise<RunDirs> {
    const root = path.join(this.deps.layout.scratch, newId(options.warm ? 'warm' : 'run'));
    const dirs: RunDirs = { root, work: path.join(root, 'work'), src: path.join(root, 'src'), tmp: path.join(root, 'tmp'), build: path.join(root, 'build') };
    this.activeDirs.add(root);
    try {
      await mkdir(root, { recursive: true });
      const needed = options.work === false ? [dirs.src, dirs.tmp, dirs.build] : [dirs.work, dirs.src, dirs.tmp, dirs.build];
      await Promise.all(needed.map((dir) => mkdir(dir)));
    } catch (error) {
      await this.removeRunDirs(dirs);
      throw error;
    }
    return dirs;
  }

  private async removeRunDirs(dirs: RunDirs): Promise<void> {
    await rm(dirs.root, { recursive: true, force: true }).catch(() => undefined);
    this.activeDirs.delete(dirs.root);
  }

  private view(policy: RunPolicy, cwd: string, dirs: RunDirs): RunView {
    const isolated = policy.level === 'isolated';
    const mounts: Array<[string, string]> = [
      [cwd, SANDBOX_PATHS.work],
      [dirs.src, SANDBOX_PATHS.src],
      [dirs.tmp, SANDBOX_PATHS.tmp],
      [dirs.build, BUILD_INSIDE],
    ];
    return { ...pathView(isolated, mounts), cwd, dirs };
  }

  private environmentFor(view: RunView, environment: RunEnvironment | undefined, extra: Record<string, string>): Record<string, string> {
    return viewEnvironment(this.deps.hostEnv, view, { home: view.cwd, tmpDir: view.dirs.tmp, environment, extra });
  }

  /** Compile (where the language needs it) and run one source, within one deadline. */
  private async runSource(run: SourceRun): Promise<ExecutionResult> {
    const { entry, policy } = run;
    const enforcement = this.deps.cgroups.mode === 'none' ? 'rlimit' : 'cgroup';
    const prepared = await prepareSource(entry, run.code);
    if (!prepared.ok) return toExecutionResult(rejectedSource(prepared.message, enforcement), this.appliedSandbox(policy), policy.warnings, entry.id);
    // A file runs in place unless its text had to change (types stripped, open tag added).
    const inPlace = run.inPlace !== undefined && prepared.code === run.code ? run.inPlace : undefined;
    const fileName = run.inPlace ? path.basename(run.inPlace) : sourceFileName(entry, run.code);
    const key = this.standbyKey(run, inPlace, fileName);
    const standby = key === undefined ? undefined : this.standbys.take(key);
    try {
      if (standby && (await this.stillBinds(standby))) return await this.runOnStandby(standby, run, prepared.code, inPlace === undefined);
      return await this.runCold(run, prepared.code, inPlace, fileName);
    } finally {
      // The next standby is launched once this run is over and its reply on the way: launched
      // during the run, its fork and set-up (python's start-up) would take the CPU from the program.
      if (key !== undefined) setImmediate(() => this.standbys.replenish(key, () => this.launchStandby(key, run, inPlace, fileName)));
    }
  }

  private runCold(run: SourceRun, code: string, inPlace: string | undefined, fileName: string): Promise<ExecutionResult> {
    const { entry, policy } = run;
    return this.withRunDirs(async (dirs) => {
      const cwd = run.cwd ?? dirs.work;
      await writeRunFiles(cwd, run.files);
      const source = inPlace ?? path.join(dirs.src, fileName);
      if (!inPlace) await writeFile(source, code);
      const plan = await this.planSource(run, cwd, dirs, source);
      const { outcome, warnings } = await runSteps(plan.steps, policy.limits, (step, stepLimits) =>
        this.spawnTracked(policy, plan.view, plan.readOnly, step, stepLimits, plan.env, run.signal, step.phase === 'run' ? run.onOutput : undefined),
      );
      return toExecutionResult(outcome, this.appliedSandbox(policy), [...policy.warnings, ...warnings], entry.id);
    }, { work: run.cwd === undefined });
  }

  /** Command lines, variables and mounts of a source run in `dirs` (the source file need not exist yet). */
  private async planSource(run: SourceRun, cwd: string, dirs: RunDirs, source: string): Promise<SourcePlan> {
    const { entry } = run;
    const view = this.view(run.policy, cwd, dirs);
    // Command lines and variables name the paths the program sees.
    const files: RunFiles = { source: view.inside(source), buildDir: view.inside(dirs.build), tmpDir: view.inside(dirs.tmp), code: run.code };
    const program = entry.id === 'python' && run.environment ? run.environment.pythonPath : run.tool;
    const env = this.environmentFor(view, run.environment, {
      // Python finds modules in the working directory, as `python file` run there would.
      ...(entry.id === 'python' ? { PYTHONPATH: view.inside(cwd) } : {}),
      ...entry.env?.(files),
    });
    // Bind mounts exist only inside a sandbox: at level process there is nothing to look up.
    const readOnly = view.isolated ? [...(await toolchainMounts(program)), ...(run.environment ? [run.environment.envPath] : [])] : [];
    const steps: Step[] = [
      ...(entry.compile ? [{ phase: 'compile' as const, command: entry.compile(program, files) }] : []),
      { phase: 'run', command: entry.command(program, files, run.args ?? []), stdin: run.stdin },
    ];
    return { view, env, readOnly, steps, prestart: entry.prestart?.(program, files, run.args ?? []) };
  }

  /**
   * What makes two source runs start the same sandbox and command line; undefined where the warm
   * path does not apply: compiled languages (two steps) and hosts without cgroups (a launched
   * process would be polled through /proc while it waits). At level process a standby saves the
   * fork of the server, the launcher and the cgroup; at level isolated bubblewrap's setup too.
   */
  private standbyKey(run: SourceRun, inPlace: string | undefined, fileName: string): string | undefined {
    const { policy } = run;
    if (!this.standbys.enabled || run.entry.compile || this.deps.cgroups.mode === 'none') return undefined;
    return JSON.stringify([run.entry.id, run.tool, run.environment?.pythonPath, run.environment?.envPath, run.cwd, inPlace, fileName, run.args ?? [], policy.level, policy.network, policy.tmpBytes, policy.limits]);
  }

  /**
   * Whether the workspace and environment a standby binds are still the directories it was set up
   * with (one removed and made again, e.g. a broken default environment rebuilt, would be invisible
   * to it); if not, it is ended and the run goes cold.
   */
  private async stillBinds(standby: SourceStandby): Promise<boolean> {
    const now = await bindIdentities(standby.binds.map((b) => b.path)).catch(() => undefined);
    const same = now !== undefined && now.every((b, i) => b.dev === standby.binds[i]?.dev && b.ino === standby.binds[i]?.ino);
    if (!same) await standby.dispose();
    return same;
  }

  /** A process for the next run of `key` (in its sandbox at level isolated), launched in its own directories and held at its gate. */
  private async launchStandby(key: string, run: SourceRun, inPlace: string | undefined, fileName: string): Promise<SourceStandby> {
    const dirs = await this.makeRunDirs({ work: run.cwd === undefined, warm: true });
    try {
      const cwd = run.cwd ?? dirs.work;
      const source = inPlace ?? path.join(dirs.src, fileName);
      const plan = await this.planSource(run, cwd, dirs, source);
      const step = plan.steps[0];
      if (!step) throw new Error('nothing to run');
      // Identified before bubblewrap binds them: a directory replaced in between fails the check.
      const binds = await bindIdentities([...(run.cwd === undefined ? [] : [run.cwd]), ...(run.environment ? [run.environment.envPath] : [])]);
      // An interpreter that can start ahead and wait at the gate itself (python) does; else a gate shell.
      const gated = plan.prestart ?? [...GATE_ARGV, ...step.command];
      const { command, argsPipe } = await this.sandboxed(run.policy, plan.view, plan.readOnly, plan.env, gated);
      const launched = await launchProcess(
        { cgroups: this.deps.cgroups, content: this.deps.content },
        { command, argsPipe, cwd, env: plan.env, limits: run.policy.limits, gated: true, signalAsExitCode: plan.view.isolated },
      );
      return {
        key,
        plan,
        source,
        launched,
        binds,
        get alive() {
          return launched.alive;
        },
        dispose: async () => {
          await launched.discard();
          await this.removeRunDirs(dirs);
        },
      };
    } catch (error) {
      await this.removeRunDirs(dirs);
      throw error;
    }
  }

  /** A run on a standby sandbox: its files written into the standby's directories, then the gate opened. */
  private async runOnStandby(standby: SourceStandby, run: SourceRun, code: string, writeSource: boolean): Promise<ExecutionResult> {
    const { plan } = standby;
    try {
      await writeRunFiles(plan.view.cwd, run.files);
      if (writeSource) await writeFile(standby.source, code);
      const { outcome, warnings } = await runSteps(plan.steps, run.policy.limits, async () =>
        this.track(standby.launched.begin({ stdin: run.stdin, signal: run.signal, onOutput: run.onOutput })),
      );
      return toExecutionResult(outcome, this.appliedSandbox(run.policy), [...run.policy.warnings, ...warnings], run.entry.id);
    } finally {
      await standby.dispose();
    }
  }

  /** Every process of every entry point starts here: wrapped in bubblewrap when isolated, spawned, tracked for close(). */
  private async spawnTracked(
    policy: RunPolicy,
    view: RunView,
    readOnly: string[],
    step: Step,
    limits: Limits,
    env: Record<string, string>,
    signal?: AbortSignal,
    onOutput?: OutputListener,
  ) {
    const { command, argsPipe } = await this.sandboxed(policy, view, readOnly, env, step.command);
    const running = await spawnProcess(
      { cgroups: this.deps.cgroups, content: this.deps.content },
      // bubblewrap reports a program killed by a signal as exit code 128 + signal.
      { command, argsPipe, cwd: view.cwd, env, stdin: step.stdin, limits, signal, onOutput, signalAsExitCode: view.isolated },
    );
    return this.track(running);
  }

  /** Its outcome, with the process counted as running (close() ends it) until then. */
  private track(running: RunningProcess): Promise<ExecOutcome> {
    this.active.add(running);
    return running.done.finally(() => this.active.delete(running));
  }

  /** `program` as it runs at the view's level: at level isolated inside bubblewrap (options through its args pipe). */
  private async sandboxed(policy: RunPolicy, view: RunView, readOnly: string[], env: Record<string, string>, program: string[]): Promise<{ command: string[]; argsPipe?: Buffer }> {
    if (!view.isolated) return { command: program };
    const { bwrap } = await this.isolation();
    return sandboxedCommand(
      {
        bwrap: bwrap ?? '/usr/bin/bwrap',
        workDir: view.cwd,
        srcDir: view.dirs.src,
        network: policy.network,
        tmpBytes: policy.tmpBytes,
        readOnly,
        writable: [{ host: view.dirs.build, inside: BUILD_INSIDE }],
        env,
      },
      program,
    );
  }

  appliedSandbox(policy: RunPolicy): AppliedSandbox {
    return {
      level: policy.level,
      network: policy.network,
      limits: describeLimits(policy.limits),
      enforcement: this.deps.cgroups.mode === 'none' ? 'rlimit' : 'cgroup',
    };
  }
}

/** The caller's extra files, written into the working directory (each path checked to stay inside). */
async function writeRunFiles(cwd: string, files: Record<string, string> | undefined): Promise<void> {
  for (const [name, text] of Object.entries(files ?? {})) {
    const file = await resolveInside(cwd, name, 'file');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}
