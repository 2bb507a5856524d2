import { z } from 'zod';
import { ProcessSandboxSchema } from '../runtime/processes/record.js';
import { READ_ONLY, RUNS_CODE, defineTool, type ReplyBlock } from './define.js';
import { policyRequest, safeString, sandboxArgs } from './schemas.js';
import { envIdRequired } from './workspace.js';

/** The processes toolset: background processes that outlive calls and server restarts, and jobs. */
const ProcessSchema = z.object({
  process_id: z.string(),
  pid: z.number(),
  name: z.string(),
  env_id: z.string(),
  command: z.array(z.string()),
  started_at: z.string(),
  running: z.boolean(),
  exit_code: z.number().nullable(),
  signal: z.string().nullable(),
  ended_at: z.string().nullable(),
  reason: z.string().nullable(),
  sandbox: ProcessSandboxSchema
    .nullable()
    .describe('The sandbox applied: level, network and limits (timeout_s null: runs until killed).'),
  warnings: z.array(z.string()),
});

/** The sandbox arguments of one-shot runs, but timeout_s is a lifetime here, and the output cap is the log's. */
const processSandboxArgs = (({ max_output_chars: _, ...rest }) => rest)(sandboxArgs);

const processIdArg = z.string().max(64).describe('The process_id spawn_process returned.');

const spawnProcess = defineTool({
  name: 'spawn_process',
  title: 'Start a background process',
  description:
    'Start a long-running background process (server, training run, watcher) in the workspace and return at once with its process_id. ' +
    'Give command (an argv array, or a string run by sh -c) or script_path (a workspace file; language from the extension). ' +
    'Output goes to a capped log read with process_output; the process keeps running across server restarts. ' +
    'It runs in the environment\'s sandbox like run_code (at level isolated: the workspace read-write at /workspace, the environment read-only, ' +
    'private /tmp, no network unless network "on"); limits cover its whole process tree. Returns the applied sandbox.',
  toolset: 'processes',
  input: z.object({
    env_id: envIdRequired,
    command: z.union([safeString('command', 100_000).min(1), z.array(safeString('an argument', 100_000)).min(1).max(1000)]).optional(),
    script_path: safeString('script_path', 4096).optional(),
    args: z.array(safeString('an argument', 100_000)).max(1000).default([]),
    name: safeString('name', 128).optional(),
    cwd: safeString('cwd', 4096).optional().describe('Working directory relative to the workspace.'),
    env: z.record(z.string().max(128), safeString('an env value', 100_000)).optional(),
    capture_output: z.boolean().default(true),
    ...processSandboxArgs,
    timeout_s: z
      .number()
      .positive('timeout_s must be above 0')
      .max(604_800)
      .optional()
      .describe("Lifetime limit in seconds: the process is ended after it. Default: none (runs until killed), or the operator's --max-process-lifetime."),
  }),
  output: ProcessSchema,
  annotations: RUNS_CODE,
  handle: async (args, ctx) => {
    const view = await ctx.runtime.processes.spawn({
      envId: args.env_id,
      command: args.command,
      scriptPath: args.script_path,
      args: args.args,
      name: args.name,
      cwd: args.cwd,
      env: args.env,
      captureOutput: args.capture_output,
      policy: policyRequest({ ...args, timeout_s: undefined }),
      timeoutS: args.timeout_s,
    });
    const warn = view.warnings.map((w) => `\n[warning] ${w}`).join('');
    const where = view.sandbox ? ` [${view.sandbox.level}, network ${view.sandbox.network}]` : '';
    return { structured: view, blocks: [{ type: 'text', text: `started ${view.process_id} (pid ${view.pid})${where}: ${view.command.join(' ').slice(0, 200)}${warn}` }] };
  },
});

const listProcesses = defineTool({
  name: 'list_processes',
  title: 'List background processes',
  description: 'List background processes (all, or of one environment), running or ended, with exit status.',
  toolset: 'processes',
  input: z.object({ env_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional() }),
  output: z.object({ processes: z.array(ProcessSchema) }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const processes = await ctx.runtime.processes.list(args.env_id);
    const text =
      processes
        .map((p) => `${p.process_id} ${p.running ? 'running' : `ended (${p.exit_code !== null ? `exit ${p.exit_code}` : (p.signal ?? 'unknown')}${p.reason ? `: ${p.reason}` : ''})`} pid ${p.pid} ${p.name}${p.sandbox ? ` [${p.sandbox.level}, network ${p.sandbox.network}]` : ''}`)
        .join('\n') || '(no processes)';
    return { structured: { processes }, blocks: [{ type: 'text', text }] };
  },
});

const processOutput = defineTool({
  name: 'process_output',
  title: 'Read process output',
  description:
    'Read the output log of a background process: the last tail_lines lines, or, with offset, the bytes from that offset on. ' +
    'Pass next_offset back as offset to read on from where you stopped, losing and repeating nothing. ' +
    'rotated_bytes says how much old output the log cap dropped before your offset.',
  toolset: 'processes',
  input: z.object({
    process_id: processIdArg,
    tail_lines: z.number().int().min(0).max(100_000).default(100),
    offset: z.number().int().min(0).optional(),
  }),
  output: z.object({
    process_id: z.string(),
    output: z.string(),
    offset: z.number(),
    next_offset: z.number(),
    rotated_bytes: z.number(),
    total_bytes: z.number(),
    running: z.boolean(),
    exit_code: z.number().nullable(),
    signal: z.string().nullable(),
    reason: z.string().nullable().describe('Why the process ended, when it did not end by itself (memory limit, lifetime, kill_process).'),
    log_cap_bytes: z.number(),
  }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const out = await ctx.runtime.processes.output(args.process_id, args.tail_lines, args.offset);
    const notes: string[] = [];
    if (out.rotated_bytes > 0) notes.push(`[${out.rotated_bytes} bytes before this were rotated away (log cap ${out.log_cap_bytes} bytes)]`);
    const state = out.running ? 'running' : `ended (${out.exit_code !== null ? `exit ${out.exit_code}` : (out.signal ?? 'unknown')}${out.reason ? `: ${out.reason}` : ''})`;
    const text = [...notes, out.output.replace(/\n$/, ''), `[${state}; next_offset ${out.next_offset} of ${out.total_bytes}]`].filter(Boolean).join('\n');
    return { structured: out, blocks: [{ type: 'text', text }] };
  },
});

const killProcess = defineTool({
  name: 'kill_process',
  title: 'Stop a background process',
  description: 'Stop a background process and its whole tree: sends signal (TERM by default), then KILL to whatever is left after grace_s seconds.',
  toolset: 'processes',
  input: z.object({
    process_id: processIdArg,
    signal: z.enum(['TERM', 'INT', 'HUP', 'KILL']).default('TERM'),
    grace_s: z.number().min(0).max(300).default(5),
  }),
  output: ProcessSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handle: async (args, ctx) => {
    const view = await ctx.runtime.processes.kill(args.process_id, args.signal, args.grace_s);
    return { structured: view, blocks: [{ type: 'text', text: `${view.process_id}: ${view.running ? 'still running' : `ended (${view.exit_code !== null ? `exit ${view.exit_code}` : (view.signal ?? 'unknown')})`}` }] };
  },
});

const CommandResultSchema = z.object({ command: z.string(), status: z.string(), exit_code: z.number().nullable(), duration_ms: z.number(), output_tail: z.string() });

const jobSubmit = defineTool({
  name: 'job_submit',
  title: 'Submit a job',
  description:
    'Run a declarative job in the background: sync host directories into the workspace (inside the operator\'s --allow-dir roots), run bootstrap commands ' +
    '(a failure stops the job), then the run command as a background process; artifacts are collected with job_collect. Returns job_id; poll job_status. ' +
    'spec: { sandbox?, sync: [{ local_dir, remote_dir, exclude }], bootstrap: { commands, cwd, env, timeout_s_per_command, fail_fast, network }, ' +
    'run: { command, cwd, env, log_path, timeout_s, network }, artifacts: [path | { remote_path } | { remote_dir }] }; remote paths are relative to the workspace. ' +
    'Every command runs in the environment\'s sandbox (sandbox: "isolated" | "process", default the operator\'s); network is "off" unless a phase asks "on" (e.g. bootstrap installs) and the operator allows it.',
  toolset: 'processes',
  input: z.object({ spec: z.record(z.string(), z.unknown()).describe('The job spec (see the description).'), env_id: envIdRequired }),
  output: z.object({ job_id: z.string(), phase: z.string() }),
  annotations: RUNS_CODE,
  handle: async (args, ctx) => {
    const job = await ctx.runtime.jobs.submit(args.spec, args.env_id);
    return { structured: { job_id: job.job_id, phase: job.phase }, blocks: [{ type: 'text', text: `submitted ${job.job_id}; poll job_status` }] };
  },
});

const jobStatus = defineTool({
  name: 'job_status',
  title: 'Job status',
  description: 'The phase of a job (queued | syncing | bootstrapping | running | succeeded | failed | cancelled), per-command bootstrap results, the run process state and the tail of its log.',
  toolset: 'processes',
  input: z.object({ job_id: z.string().max(64), tail_lines: z.number().int().min(0).max(1000).default(20) }),
  output: z.object({
    job_id: z.string(),
    env_id: z.string(),
    phase: z.enum(['queued', 'syncing', 'bootstrapping', 'running', 'succeeded', 'failed', 'cancelled']),
    error: z.string().nullable(),
    submitted_at: z.string(),
    updated_at: z.string(),
    synced: z.array(z.object({ local_dir: z.string(), remote_dir: z.string(), files: z.number(), bytes: z.number() })),
    bootstrap: z.array(CommandResultSchema),
    process: ProcessSchema.nullable(),
    log_tail: z.string(),
  }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const job = await ctx.runtime.jobs.get(args.job_id);
    const process = job.process_id ? ((await ctx.runtime.processes.list(job.env_id)).find((p) => p.process_id === job.process_id) ?? null) : null;
    const logTail = job.process_id ? (await ctx.runtime.processes.output(job.process_id, args.tail_lines)).output : '';
    const structured = { job_id: job.job_id, env_id: job.env_id, phase: job.phase, error: job.error, submitted_at: job.submitted_at, updated_at: job.updated_at, synced: job.synced, bootstrap: job.bootstrap, process, log_tail: logTail };
    const lines = [`${job.job_id}: ${job.phase}${job.error ? ` (${job.error})` : ''}`, ...job.bootstrap.map((b) => `  bootstrap ${b.status} exit ${b.exit_code ?? '-'}: ${b.command.slice(0, 120)}`)];
    if (logTail) lines.push(logTail.replace(/\n$/, ''));
    return { structured, blocks: [{ type: 'text', text: lines.join('\n') }] };
  },
});

const jobCollect = defineTool({
  name: 'job_collect',
  title: 'Collect job artifacts',
  description: "Return a finished job's artifacts as resource links (hangar://workspace/...); with local_dir (inside an --allow-dir root) also copy them there.",
  toolset: 'processes',
  input: z.object({ job_id: z.string().max(64), local_dir: safeString('local_dir', 4096).optional() }),
  output: z.object({
    job_id: z.string(),
    phase: z.string(),
    artifacts: z.array(z.object({ path: z.string(), size: z.number(), uri: z.string() })),
    missing: z.array(z.string()),
    copied_to: z.string().nullable(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handle: async (args, ctx) => {
    const out = await ctx.runtime.jobs.collect(args.job_id, args.local_dir);
    const blocks: ReplyBlock[] = [
      { type: 'text', text: `${out.artifacts.length} artifacts${out.missing.length ? `; missing: ${out.missing.join(', ')}` : ''}${out.copied_to ? `; copied to ${out.copied_to}` : ''}` },
      ...out.artifacts.map((a): ReplyBlock => ({ type: 'resource_link', uri: a.uri, name: a.path, description: `${a.size} bytes` })),
    ];
    return { structured: { job_id: out.record.job_id, phase: out.record.phase, artifacts: out.artifacts, missing: out.missing, copied_to: out.copied_to }, blocks };
  },
});

export const processTools = [spawnProcess, listProcesses, processOutput, killProcess, jobSubmit, jobStatus, jobCollect];
