import type { Server } from '@modelcontextprotocol/server';
import { HangarError, isHangarError } from '../runtime/errors.js';
import type { RuntimeSource } from './create-server.js';
import { isBinary, mimeTypeOf } from '../runtime/workspaces/files.js';

const CONTENT_PREFIX = 'hangar://content/';
const WORKSPACE_PREFIX = 'hangar://workspace/';
/** A resource read returns at most this much; larger content is read in chunks with get_content. */
const MAX_RESOURCE_BYTES = 8 * 1048576;

/** MCP resources: offloaded content (`hangar://content/{ref_id}`). */
export class ResourceHost {
  constructor(private readonly ready: RuntimeSource) {}

  register(server: Server): void {
    server.setRequestHandler('resources/list', async () => {
      const items = await (await this.ready()).content.list();
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
          uriTemplate: `${WORKSPACE_PREFIX}{env_id}/{+path}`,
          name: 'workspace-file',
          title: 'Workspace file',
          description: "A file of an environment's workspace (path relative to the workspace).",
        },
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
      if (uri.startsWith(WORKSPACE_PREFIX)) return this.readWorkspaceFile(uri);
      if (!uri.startsWith(CONTENT_PREFIX)) {
        throw new Error(`RESOURCE_NOT_FOUND: no resource ${uri.slice(0, 200)}; Hangar serves ${CONTENT_PREFIX}{ref_id}`);
      }
      try {
        const chunk = await (await this.ready()).content.readText(uri.slice(CONTENT_PREFIX.length), 0, MAX_RESOURCE_BYTES);
        const more = chunk.next_offset === null ? '' : `\n… [first ${chunk.next_offset} of ${chunk.kept_bytes} bytes; read the rest with get_content]`;
        return { contents: [{ uri, mimeType: chunk.mime_type, text: `${chunk.text}${more}` }] };
      } catch (error) {
        if (isHangarError(error)) throw new Error(error.render());
        throw new Error(new HangarError('INTERNAL', 'could not read the content').render());
      }
    });
  }

  /** hangar://workspace/{env_id}/{path}: the path goes through resolveInside like any tool's. */
  private async readWorkspaceFile(uri: string) {
    try {
      const rest = uri.slice(WORKSPACE_PREFIX.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) throw new HangarError('INVALID_ARGUMENT', `resource ${uri.slice(0, 200)} names no file; use ${WORKSPACE_PREFIX}{env_id}/{path}`);
      const envId = rest.slice(0, slash);
      let rel: string;
      try {
        rel = rest.slice(slash + 1).split('/').map(decodeURIComponent).join('/');
      } catch {
        throw new HangarError('INVALID_ARGUMENT', 'the resource path is not valid percent-encoding');
      }
      const { bytes, size } = await (await this.ready()).workspaces.head(envId, rel, MAX_RESOURCE_BYTES);
      const binary = isBinary(bytes);
      const mimeType = mimeTypeOf(rel, binary);
      if (binary) return { contents: [{ uri, mimeType, blob: bytes.toString('base64') }] };
      const more = size > bytes.length ? `\n… [first ${bytes.length} of ${size} bytes; read on with workspace_read_file]` : '';
      return { contents: [{ uri, mimeType, text: `${bytes.toString('utf8')}${more}` }] };
    } catch (error) {
      if (isHangarError(error)) throw new Error(error.render());
      throw new Error(new HangarError('INTERNAL', 'could not read the workspace file').render());
    }
  }
}
