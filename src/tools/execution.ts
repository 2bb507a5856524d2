import { z } from 'zod';
import type { ExecutionResult } from '../runtime/exec/result.js';
import type { ToolContext } from './define.js';
import { READ_ONLY, RUNS_CODE, defineTool } from './define.js';
import { renderExecution } from './render.js';
import { runWorkspaceFile } from './run-file.js';
import { runSlashText } from './slash.js';
import { argsArg, codeArg, envIdArg, ExecutionResultSchema, policyRequest, safeString, sandboxArgs, stdinArg, type SandboxArgValues } from './schemas.js';

const filesArg = z
  .record(safeString('a file path', 1024), z.string().max(4_000_000))
  .refine((files) => Object.keys(files).length <= 200, 'files is limited to 200 entries')
  .optional()
  .describe('Files to write into the working directory first: relative path → text.');

async function runAndRender(
  ctx: ToolContext,
  args: { language: string; code: string; stdin?: string; args?: string[]; files?: Record<string, string>; env_id?: string } & SandboxArgValues,
) {
  if (args.language.trim().toLowerCase() === 'slash') return runSlashAsExecution(ctx, args.code);
  const env = await ctx.runtime.envs.get(args.env_id);
  // A heartbeat for clients that asked for progress: long runs show they are alive and how loud.
  let outputBytes = 0;
  const started = Date.now();
  const heartbeat = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    ctx.progress(seconds, args.timeout_s, `running for ${seconds} s, ${outputBytes} bytes of output so far`);
  }, 1000);
  try {
    const result: ExecutionResult = await ctx.runtime.exec.runCode({
      language: args.language,
      code: args.code,
      stdin: args.stdin,
      args: args.args,
      files: args.files,
      policy: policyRequest(args),
      environment: { pythonPath: env.python_path, envPath: env.env_path, workspacePath: env.workspace_path },
      signal: ctx.signal,
      onOutput: (_stream, chunk) => {
        outputBytes += chunk.length;
      },
    });
    return { structured: result, blocks: renderExecution(result) };
  } finally {
    clearInterval(heartbeat);
  }
}

/** execute_code with language "slash": the command's text becomes stdout of an "ok" result, or the run's own result. */
async function runSlashAsExecution(ctx: ToolContext, code: string) {
  const reply = await runSlashText(code, ctx);
  const exec = ctx.runtime.exec;
  const result: ExecutionResult = reply.execution ?? {
    status: 'ok',
    exit_code: 0,
    signal: null,
    stdout: `${reply.text}\n`,
    stderr: '',
    truncated: null,
    error: null,
    duration_ms: 0,
    cpu_ms: null,
    peak_memory_mb: null,
    sandbox: exec.appliedSandbox(await exec.policyFor()),
    warnings: [],
  };
  return { structured: result, blocks: reply.execution ? [{ type: 'text' as const, text: reply.text }] : renderExecution(result) };
}

const runCode = defineTool({
  name: 'run_code',
  title: 'Run code',
  description:
    'Run a snippet of code in a fresh sandboxed process and return its output. Use for one-off computations, checks and scripts; ' +
    'state does not persist between calls (use a REPL session for that). It runs in environment env_id (default "default"): Python uses that ' +
    "environment's interpreter and installed packages, and the working directory is its workspace (files there persist). Returns status (ok | error | timeout | killed | cancelled), " +
    'exit_code, stdout and stderr (head + tail when long, the whole kept by reference), error, duration, CPU time and peak memory. ' +
    'A program that fails is a normal result with status "error", not a tool error.',
  toolset: 'execution',
  input: z.object({
    code: codeArg,
    language: safeString('language', 64).default('python').describe('python (default), javascript, typescript, bash, sh, ruby, perl, php, go, rust, c, cpp, java, r: those this machine has (list_languages).'),
    env_id: envIdArg,
    stdin: stdinArg,
    args: argsArg,
    files: filesArg,
    ...sandboxArgs,
  }),
  output: ExecutionResultSchema,
  annotations: RUNS_CODE,
  handle: (args, ctx) => runAndRender(ctx, args),
});

const executeCode = defineTool({
  name: 'execute_code',
  title: 'Execute code',
  description:
    'Run code in a language and return its output: the same engine as run_code, with the argument order of the Claude-Jester server ' +
    '(language first). Languages: whatever list_languages shows as available; compiled languages (c, cpp, go, rust, java) compile inside ' +
    'the run (compile time counts in timeout_s) and a compiler error is a normal result with status "error" and the message in stderr.',
  toolset: 'execution',
  input: z.object({
    language: safeString('language', 64).describe(
      'python, javascript, typescript, bash, sh, ruby, perl, php, go, rust, c, cpp, java, r (see list_languages); or "slash" to run a slash command written in code ("/help", "/run python" + code lines, "/benchmark", "/quantum", "/status", "/cleanup").',
    ),
    code: codeArg,
    env_id: envIdArg,
    stdin: stdinArg,
    ...sandboxArgs,
  }),
  output: ExecutionResultSchema,
  annotations: RUNS_CODE,
  handle: (args, ctx) => runAndRender(ctx, args),
});

const runScript = defineTool({
  name: 'run_script',
  title: 'Run a script',
  description:
    "Run a script file from an environment's workspace (write it first with workspace_write_file) and return its output. " +
    'The language comes from the extension (.py runs with the environment\'s Python, .js, .ts, .sh, .c, ...); the workspace is the ' +
    'working directory. Same result shape, limits and sandbox arguments as run_code.',
  toolset: 'execution',
  input: z.object({
    script_path: safeString('script_path', 4096).min(1, 'script_path is empty').describe('Path of the script relative to the workspace, e.g. src/main.py.'),
    env_id: envIdArg,
    args: argsArg,
    stdin: stdinArg,
    ...sandboxArgs,
  }),
  output: ExecutionResultSchema,
  annotations: RUNS_CODE,
  handle: (args, ctx) => runWorkspaceFile(ctx, { ...args, envId: args.env_id, path: args.script_path, what: 'script_path' }),
});

const LanguageSchema = z.object({
  id: z.string(),
  aliases: z.array(z.string()),
  extensions: z.array(z.string()),
  available: z.boolean(),
  version: z.string().nullable(),
  path: z.string().nullable(),
  command: z.string().nullable(),
});

const listLanguages = defineTool({
  name: 'list_languages',
  title: 'List languages',
  description:
    'List the languages Hangar knows, with whether each is available on this machine, its version, the program\'s absolute path and ' +
    'the command used (compile step && program, with <src> and <build> for the run\'s paths).',
  toolset: 'execution',
  input: z.object({}),
  output: z.object({ languages: z.array(LanguageSchema) }),
  annotations: READ_ONLY,
  handle: async (_args, ctx) => {
    const languages = await ctx.runtime.languages.list();
    const text = languages
      .map((l) => `${l.available ? '✓' : '✗'} ${l.id}${l.version ? ` ${l.version}` : ''}${l.path ? ` (${l.path})` : ' (not found)'}`)
      .join('\n');
    return { structured: { languages }, blocks: [{ type: 'text', text }] };
  },
});

export const executionTools = [runCode, runScript, executeCode, listLanguages];
