import type { Server } from '@modelcontextprotocol/server';
import { HangarError, isHangarError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';

const CONTENT_PREFIX = 'hangar://content/';
/** A resource read returns at most this much; larger content is read in chunks with get_content. */
const MAX_RESOURCE_BYTES = 8 * 1048576;

/** MCP resources: offloaded content (`hangar://content/{ref_id}`). */
export class ResourceHost {
  constructor(private readonly runtime: Runtime) {}

  register(server: Server): void {
    server.setRequestHandler('resources/list', async () => {
      const items = await this.runtime.content.list();
      return {
        resources: items.map((item) => ({
          uri: `${CONTENT_PREFIX}${item.ref_id}`,
          name: item.ref_id,
          title: item.description,
          mimeType: item.mime_type,
          size: item.kept_bytes,
        })),
      };
    });
    server.setRequestHandler('resources/templates/list', () => ({
      resourceTemplates: [
        {
          uriTemplate: `${CONTENT_PREFIX}{ref_id}`,
          name: 'content',
          title: 'Offloaded output',
          description: 'Output too large to return inline, by the ref_id a result named.',
          mimeType: 'text/plain',
        },
      ],
    }));
    server.setRequestHandler('resources/read', async (request) => {
      const { uri } = request.params;
      if (!uri.startsWith(CONTENT_PREFIX)) {
        throw new Error(`RESOURCE_NOT_FOUND: no resource ${uri.slice(0, 200)}; Hangar serves ${CONTENT_PREFIX}{ref_id}`);
      }
      try {
        const chunk = await this.runtime.content.readText(uri.slice(CONTENT_PREFIX.length), 0, MAX_RESOURCE_BYTES);
        const more = chunk.next_offset === null ? '' : `\n… [first ${chunk.next_offset} of ${chunk.kept_bytes} bytes; read the rest with get_content]`;
        return { contents: [{ uri, mimeType: chunk.mime_type, text: `${chunk.text}${more}` }] };
      } catch (error) {
        if (isHangarError(error)) throw new Error(error.render());
        throw new Error(new HangarError('INTERNAL', 'could not read the content').render());
      }
    });
  }
}
