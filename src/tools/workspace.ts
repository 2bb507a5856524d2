import path from 'node:path';
import { z } from 'zod';
import { defaultDirName, gitClone } from '../runtime/workspaces/git.js';
import { READ_ONLY, RUNS_CODE, defineTool, type ReplyBlock } from './define.js';
import { argsArg, ExecutionResultSchema, safeString, sandboxArgs, timeoutArg } from './schemas.js';
import { runWorkspaceFile } from './run-file.js';

/** The workspace toolset: files of an environment's workspace, its scripts, and git. */
export const envIdRequired = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'env_id is letters, digits, "_" and "-" (at most 64)')
  .default('default')
  .describe('Environment whose workspace to use ("default" if omitted).');
const filenameArg = safeString('filename', 4096).min(1, 'filename is empty').describe('Path relative to the workspace, e.g. src/main.py.');

const WRITES: typeof READ_ONLY = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const DESTROYS: typeof READ_ONLY = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };

const workspaceCreate = defineTool({
  name: 'workspace_create',
  title: 'Create workspace',
  description: "Make sure an environment's workspace directory exists (idempotent) and return its path. Files, scripts and processes of the environment live there.",
  toolset: 'workspace',
  input: z.object({ env_id: envIdRequired }),
  output: z.object({ env_id: z.string(), path: z.string() }),
  annotations: WRITES,
  handle: async (args, ctx) => {
    const dir = await ctx.runtime.workspaces.root(args.env_id);
    return { structured: { env_id: args.env_id, path: dir }, blocks: [{ type: 'text', text: `workspace of ${args.env_id}: ${dir}` }] };
  },
});

const workspaceWrite = defineTool({
  name: 'workspace_write_file',
  title: 'Write workspace file',
  description: 'Write a file in the workspace (parents are created; an existing file is replaced). content is text (encoding "utf-8") or base64 for binary files.',
  toolset: 'workspace',
  input: z.object({
    env_id: envIdRequired,
    filename: filenameArg,
    content: z.string().max(70_000_000, 'content is limited to 70,000,000 characters'),
    encoding: z.enum(['utf-8', 'base64']).default('utf-8'),
  }),
  output: z.object({ path: z.string(), bytes: z.number() }),
  annotations: WRITES,
  handle: async (args, ctx) => {
    const out = await ctx.runtime.workspaces.write(args.env_id, args.filename, args.content, args.encoding);
    return { structured: out, blocks: [{ type: 'text', text: `wrote ${out.bytes} bytes to ${out.path}` }] };
  },
});

const workspaceRead = defineTool({
  name: 'workspace_read_file',
  title: 'Read workspace file',
  description:
    'Read a workspace file. Text comes back with numbered lines from line `offset` (1-based), at most `limit` lines, with total_lines and truncated ' +
    '(read on with offset = offset + lines_returned). Binary files come back as base64; images also as an image block.',
  toolset: 'workspace',
  input: z.object({
    env_id: envIdRequired,
    filename: filenameArg,
    offset: z.number().int().min(1).default(1),
    limit: z.number().int().min(1).max(100_000).default(2000),
  }),
  output: z.object({
    path: z.string(),
    encoding: z.enum(['utf-8', 'base64']),
    content: z.string(),
    mime_type: z.string(),
    size: z.number(),
    offset: z.number().nullable(),
    lines_returned: z.number().nullable(),
    total_lines: z.number().nullable(),
    truncated: z.boolean(),
  }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const read = await ctx.runtime.workspaces.read(args.env_id, args.filename, args.offset, args.limit);
    if (read.kind === 'binary') {
      const blocks: ReplyBlock[] = [{ type: 'text', text: `${read.path}: binary, ${read.size} bytes (${read.mime_type}), base64 in structured content` }];
      if (read.image) blocks.push({ type: 'image', data: read.base64, mimeType: read.mime_type });
      return {
        structured: { path: read.path, encoding: 'base64' as const, content: read.base64, mime_type: read.mime_type, size: read.size, offset: null, lines_returned: null, total_lines: null, truncated: false },
        blocks,
      };
    }
    const more = read.truncated ? `\n[lines ${read.offset}-${read.offset + read.lines_returned - 1} of ${read.total_lines}; continue with offset ${read.offset + read.lines_returned}]` : '';
    return {
      structured: { path: read.path, encoding: 'utf-8' as const, content: read.content, mime_type: 'text/plain', size: read.size, offset: read.offset, lines_returned: read.lines_returned, total_lines: read.total_lines, truncated: read.truncated },
      blocks: [{ type: 'text', text: `${read.content}${more}` }],
    };
  },
});

const workspaceEdit = defineTool({
  name: 'workspace_edit_file',
  title: 'Edit workspace file',
  description:
    'Replace old_string with new_string in a workspace file. Matching: exact first, then ignoring trailing whitespace, then ignoring indentation ' +
    '(new_string is re-indented to the match). The match must be unique unless replace_all is true. Says how many replacements were made.',
  toolset: 'workspace',
  input: z.object({
    env_id: envIdRequired,
    filename: filenameArg,
    old_string: z.string().max(10_000_000),
    new_string: z.string().max(10_000_000),
    replace_all: z.boolean().default(false),
  }),
  output: z.object({ path: z.string(), replacements: z.number(), strategy: z.enum(['exact', 'trailing_whitespace', 'indentation']) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handle: async (args, ctx) => {
    const out = await ctx.runtime.workspaces.edit(args.env_id, args.filename, args.old_string, args.new_string, args.replace_all);
    const how = out.strategy === 'exact' ? '' : ` (matched ${out.strategy.replace('_', ' ')}-tolerant)`;
    return { structured: out, blocks: [{ type: 'text', text: `${out.replacements} replacement${out.replacements === 1 ? '' : 's'} in ${out.path}${how}` }] };
  },
});

const FileEntrySchema = z.object({ name: z.string(), path: z.string(), is_dir: z.boolean(), size: z.number(), modified: z.string() });

const workspaceList = defineTool({
  name: 'workspace_list_files',
  title: 'List workspace files',
  description: 'List files under a workspace directory (path "" is the root), optionally recursive and filtered by a glob pattern (*.py, src/**/*.ts, *.{png,jpg}).',
  toolset: 'workspace',
  input: z.object({
    env_id: envIdRequired,
    path: safeString('path', 4096).default(''),
    recursive: z.boolean().default(false),
    pattern: safeString('pattern', 256).optional(),
  }),
  output: z.object({ files: z.array(FileEntrySchema), truncated: z.boolean() }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const out = await ctx.runtime.workspaces.list(args.env_id, args.path, args.recursive, args.pattern);
    const text = out.files.map((f) => (f.is_dir ? `${f.path}/` : `${f.path}  ${f.size} B`)).join('\n') || '(no files)';
    return { structured: out, blocks: [{ type: 'text', text: out.truncated ? `${text}\n[listing cut at ${out.files.length} entries]` : text }] };
  },
});

const workspaceDelete = defineTool({
  name: 'workspace_delete_file',
  title: 'Delete workspace file',
  description: 'Delete a file or directory (with its contents) from the workspace.',
  toolset: 'workspace',
  input: z.object({ env_id: envIdRequired, filename: filenameArg }),
  output: z.object({ path: z.string(), was_dir: z.boolean() }),
  annotations: DESTROYS,
  handle: async (args, ctx) => {
    const out = await ctx.runtime.workspaces.delete(args.env_id, args.filename);
    return { structured: out, blocks: [{ type: 'text', text: `deleted ${out.path}${out.was_dir ? '/' : ''}` }] };
  },
});

const workspaceRunScript = defineTool({
  name: 'workspace_run_script',
  title: 'Run workspace script',
  description:
    'Run a script file of the workspace with the workspace as working directory; the language comes from the extension (.py, .js, .sh, ...). ' +
    'Returns the execution result (status, exit_code, stdout, stderr, metrics).',
  toolset: 'workspace',
  input: z.object({ env_id: envIdRequired, filename: filenameArg, args: argsArg, ...sandboxArgs }),
  output: ExecutionResultSchema,
  annotations: RUNS_CODE,
  handle: (args, ctx) => runWorkspaceFile(ctx, { ...args, envId: args.env_id, path: args.filename, what: 'filename' }),
});

const workspaceGitClone = defineTool({
  name: 'workspace_git_clone',
  title: 'Clone a git repository',
  description:
    'Clone a git repository into the workspace (https, ssh, git or file URL), optionally one branch and a shallow depth. Runs the host git with a timeout; ' +
    'credentials in the URL are never echoed back.',
  toolset: 'workspace',
  input: z.object({
    env_id: envIdRequired,
    repo_url: safeString('repo_url', 4096).min(1),
    dir_name: safeString('dir_name', 4096).optional().describe('Directory in the workspace (default: the repository name).'),
    branch: safeString('branch', 200).optional(),
    depth: z.number().int().min(1).max(1_000_000).optional(),
    timeout_s: timeoutArg,
  }),
  output: z.object({ path: z.string(), duration_ms: z.number() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handle: async (args, ctx) => {
    const dirName = args.dir_name ?? defaultDirName(args.repo_url);
    const dest = await ctx.runtime.workspaces.resolve(args.env_id, dirName, 'dir_name');
    const { limits } = await ctx.runtime.exec.policyFor({ timeoutS: args.timeout_s ?? Math.min(300, ctx.runtime.config.maxTimeout) });
    const out = await gitClone({
      url: args.repo_url,
      dest,
      branch: args.branch,
      depth: args.depth,
      timeoutMs: limits.timeoutMs,
      signal: ctx.signal,
      onProgress: (message, percent) => ctx.progress(percent ?? 0, 100, message),
    });
    const rel = path.relative(await ctx.runtime.workspaces.resolve(args.env_id, ''), dest);
    return { structured: { path: rel, duration_ms: out.duration_ms }, blocks: [{ type: 'text', text: `cloned into ${rel} in ${out.duration_ms} ms` }] };
  },
});

const workspaceDestroy = defineTool({
  name: 'workspace_destroy',
  title: 'Destroy workspace',
  description: "Delete every file of an environment's workspace and end its background processes. The environment itself stays; the workspace starts empty on next use.",
  toolset: 'workspace',
  input: z.object({ env_id: envIdRequired }),
  output: z.object({ env_id: z.string(), removed_entries: z.number(), processes_killed: z.number() }),
  annotations: DESTROYS,
  handle: async (args, ctx) => {
    const killed = await ctx.runtime.processes.killEnv(args.env_id);
    const out = await ctx.runtime.workspaces.destroy(args.env_id);
    return {
      structured: { env_id: args.env_id, ...out, processes_killed: killed },
      blocks: [{ type: 'text', text: `workspace of ${args.env_id} emptied (${out.removed_entries} entries, ${killed} processes ended)` }],
    };
  },
});

export const workspaceTools = [workspaceCreate, workspaceWrite, workspaceRead, workspaceEdit, workspaceList, workspaceDelete, workspaceRunScript, workspaceGitClone, workspaceDestroy];
