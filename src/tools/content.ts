import { z } from 'zod';
import { READ_ONLY, defineTool } from './define.js';

const getContent = defineTool({
  name: 'get_content',
  title: 'Read offloaded content',
  description:
    'Read output that was too large to return inline, by its ref_id (from a result\'s `truncated.ref_id` or a resource link). ' +
    'Reads `length` bytes from byte `offset`; pass `next_offset` back to continue. Chunks end on character boundaries.',
  toolset: 'execution',
  input: z.object({
    ref_id: z.string().max(64).describe('The content reference, e.g. ref_4f9c2a1b03d7.'),
    offset: z.number().int().min(0).default(0).describe('Byte offset to read from.'),
    length: z.number().int().min(1).max(1_000_000).default(100_000).describe('Bytes to read (at most 1,000,000).'),
  }),
  output: z.object({
    ref_id: z.string(),
    text: z.string(),
    offset: z.number(),
    next_offset: z.number().nullable().describe('Where the next chunk starts; null at the end.'),
    total_bytes: z.number().describe('Bytes the producer wrote.'),
    kept_bytes: z.number().describe('Bytes kept on disk (less than total_bytes when the content cap was reached).'),
    mime_type: z.string(),
  }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const chunk = await ctx.runtime.content.readText(args.ref_id, args.offset, args.length);
    const tail = chunk.next_offset === null ? '[end of content]' : `[more: call again with offset ${chunk.next_offset}]`;
    return { structured: chunk, blocks: [{ type: 'text', text: `${chunk.text}\n${tail}` }] };
  },
});

export const contentTools = [getContent];
