import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { ContentStore } from '../content/content-store.js';
import { HangarError } from '../errors.js';
import { newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { LanguageEntry, RunFiles } from '../languages/table.js';
import type { CgroupSupport } from '../sandbox/cgroups.js';
import { bwrapArgs, probeIsolation, SANDBOX_PATHS, toolchainMounts, type IsolationSupport } from '../sandbox/bwrap.js';
import { describeLimits, type AppliedSandbox, type Limits } from '../sandbox/limits.js';
import { resolvePolicy, type PolicyRequest, type RunPolicy } from '../sandbox/policy.js';
import type { DataLayout } from '../store/layout.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { prepareSource, sourceFileName } from './prepare-source.js';
import { toExecutionResult, type ExecutionResult } from './result.js';
import { pathView, viewEnvironment, type PathView, type RunEnvironment } from './run-view.js';
import { spawnProcess, type RunningProcess } from './spawn.js';
import { rejectedSource, runSteps, type Step } from './steps.js';

type OnOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) => void;

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
  onOutput?: OnOutput;
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
  onOutput?: OnOutput;
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
  cwd: string;
  dirs: RunDirs;
  args?: string[];
  stdin?: string;
  policy: RunPolicy;
  environment?: RunEnvironment;
  signal?: AbortSignal;
  onOutput?: OnOutput;
}

/** Where a run's host directories appear to the program (see run-view.ts). */
interface RunView extends PathView {
  cwd: string;
  dirs: RunDirs;
}

const BUILD_INSIDE = '/build';

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

  constructor(private readonly deps: ExecServiceDeps) {
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

  /** Processes running now (compile steps and programs). */
  get runningCount(): number {
    return this.active.size;
  }

  /** Removes scratch directories of runs that are not under way (left by a failed removal); returns how many. */
  async cleanScratch(): Promise<number> {
    const names = await readdir(this.deps.layout.scratch).catch(() => [] as string[]);
    let removed = 0;
    // Only one-shot runs' directories (run_…): sessions own theirs (sess_…) while they live.
    for (const name of names.filter((n) => n.startsWith('run_'))) {
      const dir = path.join(this.deps.layout.scratch, name);
      if (this.activeDirs.has(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    clearTimeout(this.probeTimer);
    const running = [...this.active];
    for (const run of running) run.kill('the server is shutting down');
    await Promise.allSettled(running.map((run) => run.done));
  }

  async runCode(request: RunCodeRequest): Promise<ExecutionResult> {
    const { entry, tool } = await this.deps.languages.resolve(request.language);
    const policy = await this.policyFor(request.policy);
    // With an environment the program works in its workspace: no scratch work directory to make.
    return this.withRunDirs(async (dirs) => {
      const cwd = request.environment?.workspacePath ?? dirs.work;
      for (const [name, text] of Object.entries(request.files ?? {})) {
        const file = await resolveInside(cwd, name, 'file');
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
      }
      return this.runSource({ ...request, entry, tool, cwd, dirs, policy });
    }, { work: request.environment === undefined });
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
    return this.withRunDirs((dirs) => this.runSource({ ...request, entry, tool, code, inPlace: request.file, dirs, policy }));
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
    const root = path.join(this.deps.layout.scratch, newId('run'));
    const dirs: RunDirs = { root, work: path.join(root, 'work'), src: path.join(root, 'src'), tmp: path.join(root, 'tmp'), build: path.join(root, 'build') };
    this.activeDirs.add(root);
    try {
      await mkdir(root, { recursive: true });
      const needed = options.work === false ? [dirs.src, dirs.tmp, dirs.build] : [dirs.work, dirs.src, dirs.tmp, dirs.build];
      await Promise.all(needed.map((dir) => mkdir(dir)));
      return await work(dirs);
    } finally {
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
      this.activeDirs.delete(root);
    }
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
    const { entry, dirs, policy } = run;
    const enforcement = this.deps.cgroups.mode === 'none' ? 'rlimit' : 'cgroup';
    const prepared = await prepareSource(entry, run.code);
    if (!prepared.ok) return toExecutionResult(rejectedSource(prepared.message, enforcement), this.appliedSandbox(policy), policy.warnings, entry.id);
    // A file runs in place unless its text had to change (types stripped, open tag added).
    const inPlace = run.inPlace !== undefined && prepared.code === run.code ? run.inPlace : undefined;
    const source = inPlace ?? path.join(dirs.src, run.inPlace ? path.basename(run.inPlace) : sourceFileName(entry, run.code));
    if (!inPlace) await writeFile(source, prepared.code);
    const view = this.view(policy, run.cwd, dirs);
    // Command lines and variables name the paths the program sees.
    const files: RunFiles = { source: view.inside(source), buildDir: view.inside(dirs.build), tmpDir: view.inside(dirs.tmp), code: run.code };
    const program = entry.id === 'python' && run.environment ? run.environment.pythonPath : run.tool;
    const env = this.environmentFor(view, run.environment, {
      // Python finds modules in the working directory, as `python file` run there would.
      ...(entry.id === 'python' ? { PYTHONPATH: view.inside(run.cwd) } : {}),
      ...entry.env?.(files),
    });
    // Bind mounts exist only inside a sandbox: at level process there is nothing to look up.
    const readOnly = view.isolated ? [...(await toolchainMounts(program)), ...(run.environment ? [run.environment.envPath] : [])] : [];
    const steps: Step[] = [
      ...(entry.compile ? [{ phase: 'compile' as const, command: entry.compile(program, files) }] : []),
      { phase: 'run', command: entry.command(program, files, run.args ?? []), stdin: run.stdin },
    ];
    const { outcome, warnings } = await runSteps(steps, policy.limits, (step, stepLimits) =>
      this.spawnTracked(policy, view, readOnly, step, stepLimits, env, run.signal, step.phase === 'run' ? run.onOutput : undefined),
    );
    return toExecutionResult(outcome, this.appliedSandbox(policy), [...policy.warnings, ...warnings], entry.id);
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
    onOutput?: OnOutput,
  ) {
    let command = step.command;
    if (view.isolated) {
      const { bwrap } = await this.isolation();
      const wrapper = bwrapArgs({
        bwrap: bwrap ?? '/usr/bin/bwrap',
        workDir: view.cwd,
        srcDir: view.dirs.src,
        network: policy.network,
        tmpBytes: policy.tmpBytes,
        readOnly,
        writable: [{ host: view.dirs.build, inside: BUILD_INSIDE }],
        env,
      });
      command = [...wrapper, ...command];
    }
    const running = await spawnProcess(
      { cgroups: this.deps.cgroups, content: this.deps.content },
      // bubblewrap reports a program killed by a signal as exit code 128 + signal.
      { command, cwd: view.cwd, env, stdin: step.stdin, limits, signal, onOutput, signalAsExitCode: view.isolated },
    );
    this.active.add(running);
    return running.done.finally(() => this.active.delete(running));
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
