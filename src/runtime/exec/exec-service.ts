import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { ContentStore } from '../content/content-store.js';
import { newId } from '../ids.js';
import type { LanguageRegistry } from '../languages/registry.js';
import { bwrapArgs, probeIsolation, SANDBOX_PATHS, toolchainMounts, type IsolationSupport } from '../sandbox/bwrap.js';
import type { CgroupSupport } from '../sandbox/cgroups.js';
import { buildRunEnvironment } from '../sandbox/environment.js';
import { describeLimits, type AppliedSandbox } from '../sandbox/limits.js';
import { resolvePolicy, type PolicyRequest, type RunPolicy } from '../sandbox/policy.js';
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
  /** Sandbox level, network and limits asked for by the call; checked against the operator's policy. */
  policy?: PolicyRequest;
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
  /** Whether bubblewrap works here: probed once per runtime, on first use. */
  private isolationProbe: Promise<IsolationSupport> | undefined;

  constructor(private readonly deps: ExecServiceDeps) {
    // Started now, in the background, so the first run does not wait for it.
    this.isolationProbe = probeIsolation();
  }

  async close(): Promise<void> {
    const running = [...this.active];
    for (const run of running) run.kill('the server is shutting down');
    await Promise.allSettled(running.map((run) => run.done));
  }

  isolation(): Promise<IsolationSupport> {
    this.isolationProbe ??= probeIsolation();
    return this.isolationProbe;
  }

  /** Operator defaults, with a call's stricter values; a weaker ask is POLICY_DENIED. */
  async policyFor(request: PolicyRequest = {}): Promise<RunPolicy> {
    return resolvePolicy(this.deps.config, await this.isolation(), request);
  }

  async runCode(request: RunCodeRequest): Promise<ExecutionResult> {
    const { entry, tool } = await this.deps.languages.resolve(request.language);
    const policy = await this.policyFor(request.policy);
    const { limits } = policy;
    const isolated = policy.level === 'isolated';
    const runDir = path.join(this.deps.layout.scratch, newId('run'));
    const workDir = path.join(runDir, 'work');
    const srcDir = path.join(runDir, 'src');
    const tmpDir = path.join(runDir, 'tmp');
    try {
      await Promise.all([mkdir(workDir, { recursive: true }), mkdir(srcDir, { recursive: true }), mkdir(tmpDir, { recursive: true })]);
      await writeFile(path.join(srcDir, entry.sourceFile), request.code);
      for (const [name, text] of Object.entries(request.files ?? {})) {
        const file = await resolveInside(workDir, name, 'file');
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
      }
      // The program sees its directories where the sandbox puts them; at level process, where they are.
      const seen = isolated ? SANDBOX_PATHS : { work: workDir, src: srcDir, tmp: tmpDir };
      const env = buildRunEnvironment(this.deps.hostEnv, {
        home: seen.work,
        tmpDir: seen.tmp,
        // Python finds modules the call wrote into the working directory, as `python file` would.
        extra: entry.id === 'python' ? { PYTHONPATH: seen.work } : {},
      });
      let command = entry.command(tool, path.join(seen.src, entry.sourceFile), request.args ?? []);
      if (isolated) {
        const { bwrap } = await this.isolation();
        const readOnly = await toolchainMounts(tool);
        command = [...bwrapArgs({ bwrap: bwrap ?? 'bwrap', workDir, srcDir, network: policy.network, tmpBytes: policy.tmpBytes, readOnly, env }), ...command];
      }
      const running = await spawnProcess(
        { cgroups: this.deps.cgroups, content: this.deps.content },
        {
          command,
          cwd: workDir,
          env,
          stdin: request.stdin,
          limits,
          signal: request.signal,
          onOutput: request.onOutput,
          // bubblewrap reports a program killed by a signal as exit code 128 + signal.
          signalAsExitCode: isolated,
        },
      );
      this.active.add(running);
      const outcome = await running.done.finally(() => this.active.delete(running));
      return toExecutionResult(outcome, this.appliedSandbox(policy), policy.warnings, entry.id);
    } finally {
      await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
    }
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
