import { Server, type McpServerFactory, type ServerContext } from '@modelcontextprotocol/server';
import { HangarError } from '../runtime/errors.js';
import type { Config } from '../config/schema.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ToolDefinition } from '../tools/define.js';
import { selectTools } from '../tools/index.js';
import { PromptHost } from './prompts.js';
import { ResourceHost } from './resources.js';
import { ToolHost } from './tool-host.js';

export const SERVER_NAME = 'hangar';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS =
  'Hangar runs code for you in sandboxed processes. run_code runs a snippet (python by default) and returns stdout, stderr, ' +
  'status and metrics; long output comes back as head + tail with the whole kept by reference (get_content). ' +
  'Errors start with a stable code such as INVALID_ARGUMENT and say what to do next.';

export interface HangarServer {
  /** Makes a fresh MCP server instance for one connection (stdio) or one request (HTTP). */
  factory: McpServerFactory;
  tools: ToolHost;
  /** Aborts every call still running (their processes end), then closes the runtime. */
  close(): Promise<void>;
}

export interface HangarServerOptions {
  /** Needed when the runtime is still starting (a promise): the toolsets to expose come from it. */
  config?: Config;
  /** Defaults to the tools of the configured toolsets. */
  tools?: readonly ToolDefinition[];
}

/**
 * The transport-agnostic core: one ToolHost and ResourceHost built once, and a factory that binds
 * them to a new low-level MCP `Server` per serving unit (cheap: schemas are precomputed).
 */
/** The runtime, or how to get it once it has started: the server answers before that (see serve). */
export type RuntimeSource = () => Promise<Runtime>;

export function createHangarServer(runtime: Runtime | RuntimeSource, options: HangarServerOptions = {}): HangarServer {
  // The server may answer before the runtime has started (initialize and tools/list need none of
  // it: start-up is a target); calls that use it wait for it.
  const ready: RuntimeSource = typeof runtime === 'function' ? runtime : () => Promise.resolve(runtime);
  const config = options.config ?? (typeof runtime === 'function' ? undefined : runtime.config);
  if (!config && !options.tools) throw new Error('createHangarServer: give options.config when the runtime is still starting');
  const tools = new ToolHost(ready, options.tools ?? selectTools(config?.toolsets ?? ['core']));
  const resources = new ResourceHost(ready);
  const prompts = new PromptHost(ready);
  /** Aborted when the server closes: prompts that run code stop with it. */
  const lifetime = new AbortController();
  const inFlight = new Set<AbortController>();
  let closing = false;

  const factory: McpServerFactory = () => {
    const server = new Server(
      { name: SERVER_NAME, title: 'Hangar', version: SERVER_VERSION },
      { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} }, instructions: INSTRUCTIONS },
    );
    server.setRequestHandler('tools/list', () => ({ tools: tools.listed }));
    server.setRequestHandler('tools/call', async (request, ctx: ServerContext) => {
      const { name } = request.params;
      if (closing) {
        return { content: [{ type: 'text', text: new HangarError('CANCELLED', 'the server is shutting down').render() }], isError: true };
      }
      const controller = new AbortController();
      const forward = (): void => controller.abort(ctx.mcpReq.signal.reason);
      ctx.mcpReq.signal.addEventListener('abort', forward, { once: true });
      inFlight.add(controller);
      const token = request.params._meta?.progressToken;
      try {
        const result = await tools.call(name, request.params.arguments, {
          signal: controller.signal,
          progress: (progress, total, message) => {
            if (token === undefined) return;
            void ctx.mcpReq
              .notify({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } })
              .catch(() => undefined);
          },
        });
        return server.projectCallToolResult(result, result.isError ? undefined : tools.outputSchemaOf(name));
      } finally {
        ctx.mcpReq.signal.removeEventListener('abort', forward);
        inFlight.delete(controller);
      }
    });
    resources.register(server);
    prompts.register(server, () => lifetime.signal);
    return server;
  };

  return {
    factory,
    tools,
    async close() {
      closing = true;
      lifetime.abort(new Error('the server is shutting down'));
      for (const controller of inFlight) controller.abort(new Error('the server is shutting down'));
      // A runtime that never started has nothing to close; its failure was reported where it happened.
      const started = await ready().catch(() => undefined);
      await started?.close();
    },
  };
}
