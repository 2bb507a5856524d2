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
  /** The environment to run in: its interpreter runs Python, its workspace is the working directory. */
  environment?: RunEnvironment;
  signal?: AbortSignal;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface RunEnvironment {
  pythonPath: string;
  /** The python env directory (venv or conda prefix): its bin/ goes first on PATH. */
  envPath: string;
  workspacePath: string;
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
    const environment = request.environment;
    // The source file stays outside the workspace (in the run's scratch dir), so user code never sees it there.
    const workDir = environment?.workspacePath ?? path.join(runDir, 'work');
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
        pathPrefix: environment ? [path.join(environment.envPath, 'bin')] : [],
        extra: {
          ...(entry.id === 'python' ? { PYTHONPATH: workDir } : {}),
          ...(environment ? { VIRTUAL_ENV: environment.envPath } : {}),
        },
      });
      const program = entry.id === 'python' && environment ? environment.pythonPath : tool;
      const running = await spawnProcess(
        { cgroups: this.deps.cgroups, content: this.deps.content },
        {
          command: entry.command(program, source, request.args ?? []),
          cwd: workDir,
          env,
          stdin: request.stdin,
          limits,
          signal: request.signal,
          onOutput: request.onOutput,
        },
      );
      this.active.add(running);
      const outcome = await running.done.finally(() => this.active.delete(running));
      return toExecutionResult(outcome, this.appliedSandbox(limits), [], entry.id);
    } finally {
      await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
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
