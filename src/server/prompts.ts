import type { Server, ServerContext } from '@modelcontextprotocol/server';
import { describeError, isHangarError } from '../runtime/errors.js';
import type { RuntimeSource } from './create-server.js';
import { runSlashPrompt, SLASH_COMMANDS } from '../tools/slash.js';

/**
 * MCP prompts: the slash commands (src/tools/slash.ts), with their argument lists. prompts/get runs
 * the command (a person picked it in their client: that is the request) and returns the command
 * and its result as the conversation's opening message. Errors come back as `CODE: message`.
 */
export class PromptHost {
  constructor(private readonly ready: RuntimeSource) {}

  register(server: Server, signalFor: () => AbortSignal): void {
    server.setRequestHandler('prompts/list', () => ({
      prompts: SLASH_COMMANDS.map((c) => ({
        name: c.name,
        title: c.title,
        description: `${c.description} Usage: ${c.usage}`,
        arguments: c.arguments.map((a) => ({ name: a.name, description: a.description, required: a.required })),
      })),
    }));
    server.setRequestHandler('prompts/get', async (request, ctx: ServerContext) => {
      const { name } = request.params;
      const args = request.params.arguments ?? {};
      try {
        const reply = await runSlashPrompt(name, args, { runtime: await this.ready(), signal: AbortSignal.any([ctx.mcpReq.signal, signalFor()]), progress: () => undefined });
        return {
          description: `/${name}`,
          messages: [{ role: 'user' as const, content: { type: 'text' as const, text: `/${name} result:\n${reply.text}` } }],
        };
      } catch (error) {
        throw new Error(isHangarError(error) ? error.render() : `INTERNAL: ${describeError(error)}`);
      }
    });
  }
}
