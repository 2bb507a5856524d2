import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { ContentStore } from '../content/content-store.js';
import { HangarError } from '../errors.js';
import { newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import type { RunFiles } from '../languages/table.js';
import type { CgroupSupport } from '../sandbox/cgroups.js';
import { buildRunEnvironment } from '../sandbox/environment.js';
import { describeLimits, type AppliedSandbox, type Limits } from '../sandbox/limits.js';
import type { DataLayout } from '../store/layout.js';
import { resolveInside } from '../workspaces/safe-path.js';
import { prepareSource, sourceFileName } from './prepare-source.js';
import { toExecutionResult, type ExecutionResult } from './result.js';
import { spawnProcess, type RunningProcess } from './spawn.js';
import { rejectedSource, runSteps, type Step } from './steps.js';

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
  /** Scratch directories of runs under way: /cleanup must not remove them. */
  private readonly activeDirs = new Set<string>();
  /** When this service (and so this server) started: content made since then belongs to its callers. */
  readonly startedAt = Date.now();

  constructor(private readonly deps: ExecServiceDeps) {}

  /** Processes running now (compile steps and programs). */
  get runningCount(): number {
    return this.active.size;
  }

  /** Removes scratch directories of runs that are not under way (left by a failed removal); returns how many. */
  async cleanScratch(): Promise<number> {
    const names = await readdir(this.deps.layout.scratch).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const dir = path.join(this.deps.layout.scratch, name);
      if (this.activeDirs.has(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

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
    const dirs = { work: path.join(runDir, 'work'), src: path.join(runDir, 'src'), tmp: path.join(runDir, 'tmp'), build: path.join(runDir, 'build') };
    const enforcement = this.deps.cgroups.mode === 'none' ? 'rlimit' : 'cgroup';
    this.activeDirs.add(runDir);
    try {
      await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));
      const prepared = await prepareSource(entry, request.code);
      if (!prepared.ok) return toExecutionResult(rejectedSource(prepared.message, enforcement), this.appliedSandbox(limits), [], entry.id);
      const files: RunFiles = { source: path.join(dirs.src, sourceFileName(entry, request.code)), buildDir: dirs.build, tmpDir: dirs.tmp, code: request.code };
      await writeFile(files.source, prepared.code);
      for (const [name, text] of Object.entries(request.files ?? {})) {
        const file = await resolveInside(dirs.work, name, 'file');
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
      }
      const env = buildRunEnvironment(this.deps.hostEnv, {
        home: dirs.work,
        tmpDir: dirs.tmp,
        // Python finds modules the call wrote into the working directory, as `python file` would.
        extra: { ...(entry.id === 'python' ? { PYTHONPATH: dirs.work } : {}), ...entry.env?.(files) },
      });
      const steps: Step[] = [
        ...(entry.compile ? [{ phase: 'compile' as const, command: entry.compile(tool, files) }] : []),
        { phase: 'run', command: entry.command(tool, files, request.args ?? []), stdin: request.stdin },
      ];
      const { outcome, warnings } = await runSteps(steps, limits, async (step, stepLimits) => {
        const running = await spawnProcess(
          { cgroups: this.deps.cgroups, content: this.deps.content },
          {
            command: step.command,
            cwd: dirs.work,
            env,
            stdin: step.stdin,
            limits: stepLimits,
            signal: request.signal,
            onOutput: step.phase === 'run' ? request.onOutput : undefined,
          },
        );
        this.active.add(running);
        return running.done.finally(() => this.active.delete(running));
      });
      return toExecutionResult(outcome, this.appliedSandbox(limits), warnings, entry.id);
    } finally {
      await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
      this.activeDirs.delete(runDir);
    }
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
