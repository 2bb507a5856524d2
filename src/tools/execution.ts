import { z } from 'zod';
import { HangarError } from '../runtime/errors.js';
import type { ExecutionResult } from '../runtime/exec/result.js';
import type { ToolContext } from './define.js';
import { READ_ONLY, RUNS_CODE, defineTool } from './define.js';
import { renderExecution } from './render.js';
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
  if (args.env_id !== undefined && args.env_id !== 'default') {
    throw new HangarError('ENV_NOT_FOUND', `environment "${args.env_id}" does not exist; existing: default`);
  }
  const result: ExecutionResult = await ctx.runtime.exec.runCode({
    language: args.language,
    code: args.code,
    stdin: args.stdin,
    args: args.args,
    files: args.files,
    policy: policyRequest(args),
    signal: ctx.signal,
  });
  return { structured: result, blocks: renderExecution(result) };
}

const runCode = defineTool({
  name: 'run_code',
  title: 'Run code',
  description:
    'Run a snippet of code in a fresh sandboxed process and return its output. Use for one-off computations, checks and scripts; ' +
    'state does not persist between calls (use a REPL session for that). Returns status (ok | error | timeout | killed | cancelled), ' +
    'exit_code, stdout and stderr (head + tail when long, the whole kept by reference), error, duration, CPU time and peak memory. ' +
    'A program that fails is a normal result with status "error", not a tool error.',
  toolset: 'execution',
  input: z.object({
    code: codeArg,
    language: safeString('language', 64).default('python').describe('python (default), javascript, bash, sh; see list_languages.'),
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
    '(language first). Languages: python, javascript, bash, sh, and whatever list_languages shows.',
  toolset: 'execution',
  input: z.object({
    language: safeString('language', 64).describe('python, javascript, bash, sh; see list_languages.'),
    code: codeArg,
    stdin: stdinArg,
    ...sandboxArgs,
  }),
  output: ExecutionResultSchema,
  annotations: RUNS_CODE,
  handle: (args, ctx) => runAndRender(ctx, args),
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
  description: 'List the languages Hangar knows, with whether each is available on this machine, its version and the command used to run it.',
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

export const executionTools = [runCode, executeCode, listLanguages];
