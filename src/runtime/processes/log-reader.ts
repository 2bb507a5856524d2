import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Reads a background process's output log: numbered segments written by the supervisor
 * (src/drivers/supervisor.sh), segment k holding bytes [k*S, (k+1)*S) of the whole output. Byte
 * offsets are offsets in the whole output, so `next_offset` stays valid across rotation; bytes
 * rotated away are counted, never silently skipped. The tail is read backwards from the end: its
 * cost does not depend on the size of the log.
 */
export interface LogChunk {
  output: string;
  /** Where this chunk started (after any rotated-away bytes). */
  offset: number;
  next_offset: number;
  /** Bytes between the requested offset and the oldest byte still kept. */
  rotated_bytes: number;
  total_bytes: number;
}

const SEGMENT = /^output\.log\.(\d{6,})$/;

interface Segment {
  file: string;
  start: number;
  size: number;
}

async function segments(dir: string, segmentBytes: number): Promise<Segment[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: Segment[] = [];
  for (const name of names) {
    const index = SEGMENT.exec(name)?.[1];
    if (index === undefined) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info) found.push({ file, start: Number(index) * segmentBytes, size: info.size });
  }
  return found.sort((a, b) => a.start - b.start);
}

async function readRange(segs: Segment[], from: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let at = from;
  const end = from + length;
  for (const seg of segs) {
    if (at >= end) break;
    const segEnd = seg.start + seg.size;
    if (segEnd <= at || seg.start >= end) continue;
    const handle = await open(seg.file, 'r').catch(() => undefined);
    if (!handle) break; // Rotated away meanwhile: stop here; the caller continues from `at`.
    try {
      const want = Math.min(end, segEnd) - at;
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buffer, 0, want, at - seg.start);
      parts.push(buffer.subarray(0, bytesRead));
      at += bytesRead;
      if (bytesRead < want) break;
    } finally {
      await handle.close();
    }
  }
  return Buffer.concat(parts);
}

/** Cuts at the last newline (or at a UTF-8 character boundary) so no character is split. */
function completeText(bytes: Buffer, atEnd: boolean): number {
  if (atEnd || bytes.length === 0) return bytes.length;
  const newline = bytes.lastIndexOf(0x0a);
  if (newline >= 0) return newline + 1;
  let cut = bytes.length;
  // Step back over continuation bytes (10xxxxxx) to the start of a possibly split character.
  let back = 0;
  while (back < 4 && cut - back - 1 >= 0 && ((bytes[cut - back - 1] ?? 0) & 0xc0) === 0x80) back++;
  const lead = bytes[cut - back - 1] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (need > back + 1) cut = cut - back - 1;
  return cut;
}

export async function readFromOffset(dir: string, segmentBytes: number, offset: number, maxBytes: number): Promise<LogChunk> {
  const segs = await segments(dir, segmentBytes);
  const first = segs[0]?.start ?? 0;
  const last = segs.at(-1);
  const total = last ? last.start + last.size : 0;
  const start = Math.min(Math.max(offset, first), total);
  const bytes = await readRange(segs, start, Math.min(maxBytes, total - start));
  const atEnd = start + bytes.length >= total;
  const used = completeText(bytes, atEnd);
  return {
    output: bytes.subarray(0, used).toString('utf8'),
    offset: start,
    next_offset: start + used,
    rotated_bytes: Math.max(0, Math.min(first, total) - offset),
    total_bytes: total,
  };
}

/** The last `lines` lines, reading backwards in blocks; at most `maxBytes` are returned. */
export async function readTail(dir: string, segmentBytes: number, lines: number, maxBytes: number): Promise<LogChunk> {
  const segs = await segments(dir, segmentBytes);
  const first = segs[0]?.start ?? 0;
  const last = segs.at(-1);
  const total = last ? last.start + last.size : 0;
  if (lines === 0) return { output: '', offset: total, next_offset: total, rotated_bytes: 0, total_bytes: total };
  const block = 65536;
  let start = total;
  let newlines = 0;
  const blocks: Buffer[] = [];
  // A final line without "\n" still counts as a line; a trailing "\n" does not start one.
  let skipTrailing = true;
  while (start > first && total - start < maxBytes) {
    const from = Math.max(first, start - block);
    const bytes = await readRange(segs, from, start - from);
    if (bytes.length === 0) break;
    let cutAt = -1;
    for (let i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] !== 0x0a) {
        skipTrailing = false;
        continue;
      }
      if (skipTrailing) {
        skipTrailing = false;
        continue;
      }
      newlines++;
      if (newlines === lines) {
        cutAt = i + 1;
        break;
      }
    }
    if (cutAt >= 0) {
      blocks.unshift(bytes.subarray(cutAt));
      start = from + cutAt;
      break;
    }
    blocks.unshift(bytes);
    start = from;
  }
  let joined = Buffer.concat(blocks);
  if (joined.length > maxBytes) {
    const drop = joined.length - maxBytes;
    joined = joined.subarray(drop);
    start += drop;
    // Do not begin inside a UTF-8 character.
    let skip = 0;
    while (skip < 3 && ((joined[skip] ?? 0) & 0xc0) === 0x80) skip++;
    joined = joined.subarray(skip);
    start += skip;
  }
  return { output: joined.toString('utf8'), offset: start, next_offset: total, rotated_bytes: 0, total_bytes: total };
}
