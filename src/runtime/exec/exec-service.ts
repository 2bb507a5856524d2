import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { ContentStore } from '../content/content-store.js';
import { HangarError } from '../errors.js';
import { newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { CgroupSupport } from '../sandbox/cgroups.js';
import { buildRunEnvironment } from '../sandbox/environment.js';
import { describeLimits, type AppliedSandbox, type Limits } from '../sandbox/limits.js';
import type { DataLayout } from '../store/layout.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { toExecutionResult, type ExecutionResult } from './result.js';
import { spawnProcess, type RunningProcess } from './spawn.js';

export interface RunCodeRequest {
  language: string;
  code: string;
  stdin?: string;
  args?: string[];
  /** Relative path → text, written into the working directory before the run. */
  files?: Record<string, string>;
  timeoutS?: number;
  signal?: AbortSignal;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** A script file already on disk (a workspace file), run with the workspace as working directory. */
export interface RunFileRequest {
  /** Absolute path, already checked with resolveInside by the caller. */
  file: string;
  cwd: string;
  args?: string[];
  /** Overrides the language's program (e.g. an environment's python). */
  interpreter?: string;
  timeoutS?: number;
  signal?: AbortSignal;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** A command line (argv) run in a directory: the commands of jobs. */
export interface RunCommandRequest {
  command: string[];
  cwd: string;
  env?: Record<string, string>;
  timeoutS?: number;
  signal?: AbortSignal;
}

interface PreparedRun {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  stdin?: string;
  limits: Limits;
  language?: string;
  signal?: AbortSignal;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface ExecServiceDeps {
  config: Config;
  layout: DataLayout;
  content: ContentStore;
  languages: LanguageRegistry;
  cgroups: CgroupSupport;
  hostEnv: NodeJS.ProcessEnv;
}

/** One-shot execution of code: the engine behind run_code, execute_code and `hangar run`. */
export class ExecService {
  /** Runs under way, so that closing the runtime ends every process it started. */
  private readonly active = new Set<RunningProcess>();

  constructor(private readonly deps: ExecServiceDeps) {}

  async close(): Promise<void> {
    const running = [...this.active];
    for (const run of running) run.kill('the server is shutting down');
    await Promise.allSettled(running.map((run) => run.done));
  }

  /** Operator defaults, with a call's stricter values; a weaker ask is POLICY_DENIED. */
  limitsFor(timeoutS: number | undefined): Limits {
    const { config } = this.deps;
    if (timeoutS !== undefined && timeoutS > config.maxTimeout) {
      throw new HangarError('POLICY_DENIED', `timeout_s ${timeoutS} is above the operator's maximum of ${config.maxTimeout} s; ask for at most ${config.maxTimeout}`);
    }
    return {
      timeoutMs: Math.round((timeoutS ?? config.defaultTimeout) * 1000),
      fileSizeBytes: config.maxFileMb * 1048576,
      openFiles: config.maxOpenFiles,
      maxOutputChars: config.maxOutputChars,
    };
  }

  async runCode(request: RunCodeRequest): Promise<ExecutionResult> {
    const { entry, tool } = await this.deps.languages.resolve(request.language);
    const limits = this.limitsFor(request.timeoutS);
    const runDir = path.join(this.deps.layout.scratch, newId('run'));
    const workDir = path.join(runDir, 'work');
    const srcDir = path.join(runDir, 'src');
    const tmpDir = path.join(runDir, 'tmp');
    try {
      await Promise.all([mkdir(workDir, { recursive: true }), mkdir(srcDir, { recursive: true }), mkdir(tmpDir, { recursive: true })]);
      const source = path.join(srcDir, entry.sourceFile);
      await writeFile(source, request.code);
      for (const [name, text] of Object.entries(request.files ?? {})) {
        const file = await resolveInside(workDir, name, 'file');
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
      }
      const env = buildRunEnvironment(this.deps.hostEnv, {
        home: workDir,
        tmpDir,
        // Python finds modules the call wrote into the working directory, as `python file` would.
        extra: entry.id === 'python' ? { PYTHONPATH: workDir } : {},
      });
      return await this.execute({
        command: entry.command(tool, source, request.args ?? []),
        cwd: workDir,
        env,
        stdin: request.stdin,
        limits,
        language: entry.id,
        signal: request.signal,
        onOutput: request.onOutput,
      });
    } finally {
      await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Runs a file in place (workspace_run_script): the language comes from its extension. */
  async runFile(request: RunFileRequest): Promise<ExecutionResult> {
    const entry = this.deps.languages.byExtension(request.file);
    if (!entry) {
      const known = this.deps.languages.entries().flatMap((l) => l.extensions);
      throw new HangarError('LANGUAGE_UNAVAILABLE', `no language runs "${path.extname(request.file) || path.basename(request.file)}" files; known extensions: ${known.join(', ')}`);
    }
    const tool = request.interpreter ?? (await this.deps.languages.resolve(entry.id)).tool;
    return this.withTmp((tmpDir) =>
      this.execute({
        command: entry.command(tool, request.file, request.args ?? []),
        cwd: request.cwd,
        env: buildRunEnvironment(this.deps.hostEnv, { home: request.cwd, tmpDir, extra: entry.id === 'python' ? { PYTHONPATH: request.cwd } : {} }),
        limits: this.limitsFor(request.timeoutS),
        language: entry.id,
        signal: request.signal,
        onOutput: request.onOutput,
      }),
    );
  }

  /** Runs an argv in a directory with a scrubbed environment plus `env` (job commands). */
  async runCommand(request: RunCommandRequest): Promise<ExecutionResult> {
    return this.withTmp((tmpDir) =>
      this.execute({
        command: request.command,
        cwd: request.cwd,
        env: buildRunEnvironment(this.deps.hostEnv, { home: request.cwd, tmpDir, extra: request.env ?? {} }),
        limits: this.limitsFor(request.timeoutS),
        signal: request.signal,
      }),
    );
  }

  private async withTmp<T>(work: (tmpDir: string) => Promise<T>): Promise<T> {
    const tmpDir = path.join(this.deps.layout.scratch, newId('tmp'));
    await mkdir(tmpDir, { recursive: true });
    try {
      return await work(tmpDir);
    } finally {
      await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** The shared tail of every entry point: spawn, track for close(), shape the result. */
  private async execute(run: PreparedRun): Promise<ExecutionResult> {
    const running = await spawnProcess(
      { cgroups: this.deps.cgroups, content: this.deps.content },
      { command: run.command, cwd: run.cwd, env: run.env, stdin: run.stdin, limits: run.limits, signal: run.signal, onOutput: run.onOutput },
    );
    this.active.add(running);
    const outcome = await running.done.finally(() => this.active.delete(running));
    return toExecutionResult(outcome, this.appliedSandbox(run.limits), [], run.language);
  }

  appliedSandbox(limits: Limits): AppliedSandbox {
    return {
      level: 'process',
      network: 'on',
      limits: describeLimits(limits),
      enforcement: this.deps.cgroups.mode === 'none' ? 'rlimit' : 'cgroup',
    };
  }
}
