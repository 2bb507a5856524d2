import { SessionRecordSchema } from '../runtime/sessions/session-store.js';
import { z } from 'zod';
import type { ReplResult } from '../runtime/sessions/cell-result.js';
import type { SessionInfo } from '../runtime/sessions/session-manager.js';
import { READ_ONLY, RUNS_CODE, defineTool, type ReplyBlock } from './define.js';
import { renderExecution } from './render.js';
import { codeArg, envIdArg, ExecutionResultSchema, policyRequest, safeString, sandboxArgs, timeoutArg } from './schemas.js';

const sessionIdArg = z
  .string()
  .regex(/^[a-z]+_[0-9a-f]{6,32}$/, 'session_id looks like sess_4f9c2a1b03 (see repl_list)')
  .describe('The session, as returned by repl_create or listed by repl_list.');

const SessionInfoSchema = SessionRecordSchema.omit({ policy: true }).extend({
  sandbox: z
    .object({ level: z.enum(['process', 'isolated']), network: z.enum(['off', 'on']) })
    .nullable()
    .describe('What the interpreter runs under; null for a dormant session not yet restored by this server.'),
  status: z.enum(['idle', 'busy', 'dead', 'dormant']),
  pid: z.number().nullable(),
  history_cells: z.number(),
});

const ReplResultSchema = ExecutionResultSchema.extend({
  session_id: z.string(),
  execution_count: z.number().nullable(),
  result: z.string().nullable().describe('The value of the last expression (text/plain), like a notebook cell.'),
  outputs: z
    .array(z.object({ mime: z.string(), data: z.string().nullable(), ref_id: z.string().nullable(), bytes: z.number() }))
    .describe('Rich outputs in order (images base64; over the cap kept by ref_id, readable with get_content).'),
  replayed_cells: z.number().nullable().describe('Set when the session was restored: how many history cells were replayed first.'),
  state_lost: z.boolean().describe('True when the interpreter had to be killed and restarted during this call.'),
});

function sessionLine(s: SessionInfo): string {
  const kind = s.backend === 'kernel' ? `kernel ${s.kernel ?? '?'}` : `builtin ${s.language}`;
  const sandbox = s.sandbox ? `, sandbox ${s.sandbox.level}, network ${s.sandbox.network}` : '';
  return `${s.session_id} "${s.name}" ${kind} env ${s.env_id}: ${s.status}${s.pid ? ` (pid ${s.pid})` : ''}${sandbox}, ${s.history_cells} cells in history`;
}

/** The agent's view of a cell: streams, rich outputs as text or images, the result, then the status. */
export function renderRepl(result: ReplResult): ReplyBlock[] {
  const blocks: ReplyBlock[] = [];
  const parts: string[] = [];
  if (result.replayed_cells !== null) parts.push(`[restored: ${result.replayed_cells} cells replayed]`);
  const base = renderExecution({ ...result, warnings: result.warnings.filter((w) => !w.startsWith('restored:')) });
  const [head, ...links] = base;
  let text = head?.type === 'text' ? head.text : '';
  // The status line comes last: rich outputs, result and traceback go before it.
  const statusAt = text.lastIndexOf('\n[');
  const status = statusAt >= 0 ? text.slice(statusAt + 1) : text;
  text = statusAt >= 0 ? text.slice(0, statusAt) : '';
  if (text) parts.push(text);
  for (const out of result.outputs) {
    if (out.mime.startsWith('image/') && out.mime !== 'image/svg+xml') {
      if (out.data !== null) blocks.push({ type: 'image', data: out.data, mimeType: out.mime });
      else parts.push(`[${out.mime}, ${out.bytes} bytes: too large to show, kept as ${out.ref_id ?? '?'} (get_content)]`);
    } else {
      parts.push(`[${out.mime}]\n${out.data ?? ''}`);
    }
  }
  if (result.error?.traceback) {
    parts.push(result.error.traceback);
    if (['Timeout', 'Cancelled', 'Killed'].includes(result.error.name)) parts.push(`[${result.error.name}] ${result.error.message}`);
  }
  if (result.result !== null) parts.push(`Out[${result.execution_count ?? ''}]: ${result.result}`);
  parts.push(status);
  return [{ type: 'text', text: parts.join('\n') }, ...blocks, ...links];
}

const replCreate = defineTool({
  name: 'repl_create',
  title: 'Create a REPL session',
  description:
    'Start a persistent interpreter whose variables, imports and working directory survive between repl_execute calls. ' +
    'Builtin drivers: python (default; plots come back as images), javascript (node, top-level await), bash. ' +
    'Or pass kernel = the name of an installed Jupyter kernelspec (e.g. "python3"; an unknown name lists the installed ones). ' +
    'The history of successful cells is kept, so after a server restart the session is restored by replay (replay=false turns that off). ' +
    'The interpreter runs in the sandbox like run_code (level isolated by default where available: the environment read-only, the workspace at /workspace, no network); ' +
    'sandbox, network and the limits apply to the whole session (memory_mb, max_processes and cpu_s to the interpreter and everything it starts; timeout_s is the default per-cell timeout). ' +
    'Returns session_id (use it with repl_execute), name, env_id, language, backend, sandbox and status.',
  toolset: 'repl',
  input: z.object({
    env_id: envIdArg,
    session_name: safeString('session_name', 100).optional().describe('A label of yours for the session.'),
    language: safeString('language', 40).default('python').describe('python (default), javascript or bash: the builtin driver.'),
    kernel: safeString('kernel', 100).optional().describe('A Jupyter kernelspec name; when given, the kernel is used instead of a builtin driver.'),
    replay: z.boolean().default(true).describe('Replay the history of successful cells when the session is restored (default true).'),
    ...sandboxArgs,
    timeout_s: timeoutArg.describe('Default per-cell timeout in seconds (repl_execute may pass its own); at most the operator\'s maximum.'),
  }),
  output: SessionInfoSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handle: async (args, ctx) => {
    const info = await ctx.runtime.sessions.create({
      envId: args.env_id,
      name: args.session_name,
      language: args.language,
      kernel: args.kernel,
      replay: args.replay,
      policy: policyRequest(args),
    });
    return { structured: info, blocks: [{ type: 'text', text: `created ${sessionLine(info)}` }] };
  },
});

const replExecute = defineTool({
  name: 'repl_execute',
  title: 'Execute in a REPL session',
  description:
    'Run code in a session made by repl_create; state persists across calls. Returns the execution shape (status ok | error | timeout | cancelled, ' +
    'stdout, stderr, error with traceback) plus result (the last expression), outputs (rich outputs; images come as image content, HTML and ' +
    'markdown as text) and execution_count. A cell past timeout_s is interrupted and the session keeps its state; if the interpreter cannot be ' +
    'interrupted it is restarted and state_lost says so. A dormant session (after a restart of the server or an idle stop) is restored by ' +
    'replaying its history first ("restored: N cells replayed"). If the interpreter dies the call fails with KERNEL_DIED: use repl_restart.',
  toolset: 'repl',
  input: z.object({ session_id: sessionIdArg, code: codeArg, timeout_s: timeoutArg }),
  output: ReplResultSchema,
  annotations: RUNS_CODE,
  handle: async (args, ctx) => {
    const result = await ctx.runtime.sessions.execute(args.session_id, args.code, { timeoutS: args.timeout_s, signal: ctx.signal });
    return { structured: result, blocks: renderRepl(result) };
  },
});

const replInterrupt = defineTool({
  name: 'repl_interrupt',
  title: 'Interrupt a REPL session',
  description: 'Interrupt the cell running in a session (like Ctrl-C / the notebook stop button); state is kept. Returns whether a cell was running.',
  toolset: 'repl',
  input: z.object({ session_id: sessionIdArg }),
  output: z.object({ session_id: z.string(), interrupted: z.boolean(), status: SessionInfoSchema.shape.status }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handle: async (args, ctx) => {
    const out = await ctx.runtime.sessions.interrupt(args.session_id);
    const text = out.interrupted ? `interrupted the running cell of ${args.session_id}` : `${args.session_id} was not running a cell (${out.status})`;
    return { structured: { session_id: args.session_id, ...out }, blocks: [{ type: 'text', text }] };
  },
});

const replRestart = defineTool({
  name: 'repl_restart',
  title: 'Restart a REPL session',
  description: 'Start a fresh interpreter for a session: all variables and the replay history are cleared (a running cell is killed). Use after KERNEL_DIED or to start over.',
  toolset: 'repl',
  input: z.object({ session_id: sessionIdArg }),
  output: SessionInfoSchema.extend({ state_cleared: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handle: async (args, ctx) => {
    const info = await ctx.runtime.sessions.restart(args.session_id);
    return { structured: { ...info, state_cleared: true }, blocks: [{ type: 'text', text: `restarted ${sessionLine(info)}; state cleared: earlier variables and history are gone` }] };
  },
});

const replList = defineTool({
  name: 'repl_list',
  title: 'List REPL sessions',
  description: 'List sessions with status idle | busy | dead (interpreter died: repl_restart) | dormant (stopped; restored on the next repl_execute), and the installed Jupyter kernelspecs.',
  toolset: 'repl',
  input: z.object({}),
  output: z.object({
    sessions: z.array(SessionInfoSchema),
    kernelspecs: z.array(z.object({ name: z.string(), display_name: z.string(), language: z.string() })),
  }),
  annotations: READ_ONLY,
  handle: async (_args, ctx) => {
    const sessions = ctx.runtime.sessions.list();
    const specs = (await ctx.runtime.sessions.kernelSpecs()).map((s) => ({ name: s.name, display_name: s.displayName, language: s.language }));
    const lines = sessions.length ? sessions.map(sessionLine) : ['no sessions (create one with repl_create)'];
    lines.push(`kernelspecs: ${specs.map((s) => s.name).join(', ') || 'none installed'}`);
    return { structured: { sessions, kernelspecs: specs }, blocks: [{ type: 'text', text: lines.join('\n') }] };
  },
});

const replDestroy = defineTool({
  name: 'repl_destroy',
  title: 'Destroy a REPL session',
  description: 'Stop a session\'s interpreter (and everything it started) and delete its history. Cannot be undone.',
  toolset: 'repl',
  input: z.object({ session_id: sessionIdArg }),
  output: z.object({ session_id: z.string(), destroyed: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handle: async (args, ctx) => {
    await ctx.runtime.sessions.destroy(args.session_id);
    return { structured: { session_id: args.session_id, destroyed: true }, blocks: [{ type: 'text', text: `destroyed ${args.session_id}` }] };
  },
});

export const replTools = [replCreate, replExecute, replInterrupt, replRestart, replList, replDestroy];
