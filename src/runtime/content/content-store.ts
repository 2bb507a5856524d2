import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { HangarError } from '../errors.js';
import { isWellFormedId, newId } from '../ids.js';
import { RecordType } from '../store/records.js';

/**
 * Large output kept on disk and read by reference (DESIGN.md sections 1.2 and 7): the agent gets a
 * head and tail, the whole stream stays readable in chunks through get_content or the resource
 * `hangar://content/{ref_id}`. Kept content expires after a TTL and the total is capped: the
 * oldest items go first.
 */
const ContentMeta = z.object({
  ref_id: z.string(),
  created_at: z.string(),
  mime_type: z.string(),
  description: z.string(),
  /** Bytes the producer wrote in all, which may exceed what was kept. */
  total_bytes: z.number(),
  kept_bytes: z.number(),
});
export type ContentMeta = z.infer<typeof ContentMeta>;
const contentRecord = new RecordType('content', 1, ContentMeta);

export interface ContentStoreOptions {
  dir: string;
  ttlMs: number;
  maxTotalBytes: number;
}

export interface ContentChunk {
  ref_id: string;
  text: string;
  offset: number;
  next_offset: number | null;
  total_bytes: number;
  kept_bytes: number;
  mime_type: string;
}

/**
 * Bytes a spill may hold in memory on their way to disk. A producer that waits for `drain()` never
 * gets near it; one that cannot wait (a Jupyter kernel's iopub: pausing it would pile the output up
 * in the kernel instead) keeps what was written so far and only counts the rest.
 */
const SPILL_BACKLOG_BYTES = 16 * 1048576;

/** Streams one item to disk while it is produced; at most SPILL_BACKLOG_BYTES are held in memory. */
export class SpillWriter {
  private readonly stream: WriteStream;
  private written = 0;
  private produced = 0;
  private failed: Error | undefined;
  /** Set when the disk fell SPILL_BACKLOG_BYTES behind: from then on bytes are counted, not kept. */
  private behind = false;
  private drained: Promise<void> | undefined;

  constructor(
    private readonly store: ContentStore,
    readonly refId: string,
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly mimeType: string,
    private readonly description: string,
  ) {
    this.stream = createWriteStream(file, { mode: 0o600 });
    this.stream.on('error', (error) => {
      this.failed = error;
    });
  }

  /** Returns false when the caller should wait for `drain()` before writing more. */
  write(chunk: Buffer): boolean {
    this.produced += chunk.length;
    if (this.failed || this.written >= this.maxBytes || this.behind) return true;
    if (this.stream.writableLength >= SPILL_BACKLOG_BYTES) {
      this.behind = true;
      return true;
    }
    const part = this.written + chunk.length > this.maxBytes ? chunk.subarray(0, this.maxBytes - this.written) : chunk;
    this.written += part.length;
    return this.stream.write(part);
  }

  /** One promise per wait, however many callers ask (a caller that does not wait asks per chunk). */
  drain(): Promise<void> {
    if (!this.stream.writableNeedDrain) return Promise.resolve();
    this.drained ??= new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        this.drained = undefined;
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
    return this.drained;
  }

  async finish(): Promise<ContentMeta> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
    const meta: ContentMeta = {
      ref_id: this.refId,
      created_at: new Date().toISOString(),
      mime_type: this.mimeType,
      description: this.description,
      total_bytes: this.produced,
      kept_bytes: this.written,
    };
    await contentRecord.write(`${this.file}.json`, meta);
    await this.store.enforceLimits(this.refId);
    return meta;
  }

  async discard(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
    await rm(this.file, { force: true });
  }
}

export class ContentStore {
  constructor(private readonly options: ContentStoreOptions) {}

  async init(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    await this.enforceLimits();
  }

  private file(refId: string): string {
    if (!isWellFormedId(refId) || !refId.startsWith('ref_')) {
      throw new HangarError('CONTENT_NOT_FOUND', `content "${refId}" does not exist; ref ids look like ref_4f9c2a1b`);
    }
    return path.join(this.options.dir, refId);
  }

  createSpill(mimeType: string, description: string): SpillWriter {
    const refId = newId('ref', 6);
    return new SpillWriter(this, refId, this.file(refId), this.options.maxTotalBytes, mimeType, description);
  }

  async put(data: string | Buffer, mimeType: string, description: string): Promise<ContentMeta> {
    const spill = this.createSpill(mimeType, description);
    spill.write(typeof data === 'string' ? Buffer.from(data) : data);
    return spill.finish();
  }

  async meta(refId: string): Promise<ContentMeta> {
    const meta = await contentRecord.read(`${this.file(refId)}.json`);
    if (!meta) {
      throw new HangarError('CONTENT_NOT_FOUND', `content "${refId}" does not exist or has expired (kept for ${Math.round(this.options.ttlMs / 3_600_000)} h)`);
    }
    return meta;
  }

  async readBytes(refId: string, offset: number, length: number): Promise<{ meta: ContentMeta; bytes: Buffer }> {
    const meta = await this.meta(refId);
    const start = Math.min(Math.max(0, offset), meta.kept_bytes);
    const size = Math.max(0, Math.min(length, meta.kept_bytes - start));
    const handle = await open(this.file(refId), 'r');
    try {
      const bytes = Buffer.alloc(size);
      const { bytesRead } = await handle.read(bytes, 0, size, start);
      return { meta, bytes: bytes.subarray(0, bytesRead) };
    } finally {
      await handle.close();
    }
  }

  /** Reads text from a byte offset; the chunk ends on a character boundary so chunks join exactly. */
  async readText(refId: string, offset = 0, length = 100_000): Promise<ContentChunk> {
    const { meta, bytes } = await this.readBytes(refId, offset, length);
    const start = Math.min(Math.max(0, offset), meta.kept_bytes);
    let end = bytes.length;
    if (start + end < meta.kept_bytes) end = utf8Boundary(bytes, end);
    const next = start + end;
    return {
      ref_id: refId,
      text: bytes.subarray(0, end).toString('utf8'),
      offset: start,
      next_offset: next < meta.kept_bytes ? next : null,
      total_bytes: meta.total_bytes,
      kept_bytes: meta.kept_bytes,
      mime_type: meta.mime_type,
    };
  }

  async list(): Promise<ContentMeta[]> {
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    const metas: ContentMeta[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const meta = await contentRecord.read(path.join(this.options.dir, name)).catch(() => undefined);
      if (meta) metas.push(meta);
    }
    return metas.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async remove(refId: string): Promise<void> {
    const file = this.file(refId);
    await rm(`${file}.json`, { force: true });
    await rm(file, { force: true });
  }

  /** Drops expired items, then the oldest until the total fits; `keep` is never dropped. */
  async enforceLimits(keep?: string): Promise<void> {
    const now = Date.now();
    let items = await this.list();
    for (const item of items) {
      if (item.ref_id !== keep && now - Date.parse(item.created_at) > this.options.ttlMs) await this.remove(item.ref_id);
    }
    items = items.filter((i) => i.ref_id === keep || now - Date.parse(i.created_at) <= this.options.ttlMs);
    let total = items.reduce((sum, i) => sum + i.kept_bytes, 0);
    for (const item of items) {
      if (total <= this.options.maxTotalBytes) break;
      if (item.ref_id === keep) continue;
      await this.remove(item.ref_id);
      total -= item.kept_bytes;
    }
    // Spill files whose writer never finished (a crash mid-run) have no metadata: remove them.
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.endsWith('.json') || name.endsWith('.tmp') || name === keep) continue;
      if (names.includes(`${name}.json`)) continue;
      const info = await stat(path.join(this.options.dir, name)).catch(() => undefined);
      if (info && now - info.mtimeMs > 60_000) await rm(path.join(this.options.dir, name), { force: true });
    }
  }
}

/** Largest length ≤ `end` that does not cut a UTF-8 sequence in `bytes[0, end)`. */
export function utf8Boundary(bytes: Buffer, end: number): number {
  let lead = end - 1;
  // Step back over continuation bytes (10xxxxxx) to the sequence's lead byte.
  while (lead >= 0 && end - lead < 4 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return end;
  const first = bytes[lead] ?? 0;
  const need = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return lead + need <= end ? end : lead;
}
