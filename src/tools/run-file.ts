import type { ExecutionResult } from '../runtime/exec/result.js';
import type { ToolContext } from './define.js';
import { renderExecution } from './render.js';
import { policyRequest, type SandboxArgValues } from './schemas.js';

/**
 * Runs a script file of an environment's workspace (run_script, workspace_run_script): the path goes
 * through the one safe-path check, the language comes from the extension, the environment's Python
 * runs .py files, and the workspace is the working directory.
 */
export async function runWorkspaceFile(
  ctx: ToolContext,
  request: { envId?: string; path: string; what: string; args?: string[]; stdin?: string } & SandboxArgValues,
) {
  const env = await ctx.runtime.envs.get(request.envId);
  const file = await ctx.runtime.workspaces.requireFile(env.env_id, request.path, request.what);
  const result: ExecutionResult = await ctx.runtime.exec.runFile({
    file,
    cwd: env.workspace_path,
    args: request.args,
    stdin: request.stdin,
    environment: { pythonPath: env.python_path, envPath: env.env_path, workspacePath: env.workspace_path },
    policy: policyRequest(request),
    signal: ctx.signal,
  });
  return { structured: result, blocks: renderExecution(result) };
}
