import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore, utf8Boundary } from '../../src/runtime/content/content-store.js';
import { StreamCapture } from '../../src/runtime/exec/capture.js';
import { tempDir } from '../helpers/cli.js';

let dir = '';
beforeEach(async () => {
  dir = path.join(await tempDir('hangar-unit-'), 'content');
});
afterEach(async () => rm(path.dirname(dir), { recursive: true, force: true }));

async function store(options: { ttlMs?: number; maxTotalBytes?: number } = {}): Promise<ContentStore> {
  const s = new ContentStore({ dir, ttlMs: options.ttlMs ?? 3_600_000, maxTotalBytes: options.maxTotalBytes ?? 1 << 30 });
  await s.init();
  return s;
}

/** Pushes `bytes` in chunks of `size`, honouring backpressure as the spawn pump does. */
async function feed(capture: StreamCapture, bytes: Buffer, size: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += size) await capture.push(bytes.subarray(i, i + size));
}

async function readAll(s: ContentStore, ref: string, length: number): Promise<string> {
  let text = '';
  let offset: number | null = 0;
  while (offset !== null) {
    const chunk = await s.readText(ref, offset, length);
    expect(chunk.text).not.toContain('\uFFFD');
    expect(Buffer.byteLength(chunk.text)).toBeLessThanOrEqual(length);
    text += chunk.text;
    offset = chunk.next_offset;
  }
  return text;
}

describe('StreamCapture', () => {
  it('keeps short output whole and spills nothing', async () => {
    const capture = new StreamCapture(200, await store(), 'stdout');
    await feed(capture, Buffer.from('hello\nworld\n'), 3);
    expect(await capture.finish()).toEqual({ text: 'hello\nworld\n', totalBytes: 12, truncated: false, refId: null });
    expect(await readdir(dir)).toEqual([]);
  });

  it('exactly the cap is not truncated', async () => {
    const capture = new StreamCapture(200, await store(), 'stdout');
    await feed(capture, Buffer.from('a'.repeat(200)), 64);
    const out = await capture.finish();
    expect(out).toMatchObject({ text: 'a'.repeat(200), truncated: false, refId: null });
    expect(await readdir(dir)).toEqual([]);
  });

  it('counts characters, not bytes: multi-byte output under the cap stays whole and leaves no spill', async () => {
    const text = '€'.repeat(150); // 450 bytes, 150 characters, cap 200
    const capture = new StreamCapture(200, await store(), 'stdout');
    await feed(capture, Buffer.from(text), 7);
    expect(await capture.finish()).toMatchObject({ text, truncated: false, refId: null, totalBytes: 450 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('cuts long output to head + marker + tail and keeps the whole by reference', async () => {
    const s = await store();
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('');
    const capture = new StreamCapture(200, s, 'stdout');
    await feed(capture, Buffer.from(lines), 13);
    const out = await capture.finish();
    expect(out.truncated).toBe(true);
    expect(out.totalBytes).toBe(Buffer.byteLength(lines));
    expect(out.refId).toMatch(/^ref_/);
    const [head, rest] = out.text.split('\n… [');
    expect(head).toBe(lines.slice(0, 100));
    expect(out.text.endsWith(lines.slice(-100))).toBe(true);
    expect(rest).toContain(`${Buffer.byteLength(lines) - 200} bytes of stdout hidden`);
    expect(rest).toContain(out.refId);
    expect(await readAll(s, out.refId ?? '', 1000)).toBe(lines);
  });

  it('never breaks a UTF-8 character, whatever the chunking', async () => {
    const s = await store();
    const text = 'a€😀ü'.repeat(3000);
    for (const size of [1, 2, 3, 5, 4099]) {
      const capture = new StreamCapture(300, s, 'stderr');
      await feed(capture, Buffer.from(text), size);
      const out = await capture.finish();
      expect(out.truncated).toBe(true);
      expect(out.text).not.toContain('\uFFFD');
      const [head] = out.text.split('\n… [');
      expect(text.startsWith(head ?? '')).toBe(true);
      expect([...(head ?? '')].length).toBeGreaterThanOrEqual(149);
      const tail = out.text.slice(out.text.lastIndexOf('] …\n') + 4);
      expect(text.endsWith(tail)).toBe(true);
      expect([...tail].length).toBeGreaterThanOrEqual(149);
      expect(await readAll(s, out.refId ?? '', 333)).toBe(text);
    }
  });

  it('handles one huge chunk', async () => {
    const s = await store();
    const big = Buffer.alloc(3 << 20, 'z');
    big.write('START', 0);
    big.write('END', big.length - 3);
    const capture = new StreamCapture(1000, s, 'stdout');
    await capture.push(big);
    const out = await capture.finish();
    expect(out.text.startsWith('START')).toBe(true);
    expect(out.text.endsWith('END')).toBe(true);
    expect((await s.meta(out.refId ?? '')).kept_bytes).toBe(big.length);
  });
});

  it('a producer that does not wait (a kernel iopub) gets a kept prefix, bounded memory and an honest marker', async () => {
    const s = await store();
    const capture = new StreamCapture(1000, s, 'stdout');
    const chunk = Buffer.alloc(1 << 20, 'k');
    // 64 MiB pushed in one turn: the disk cannot have taken any of it yet.
    for (let i = 0; i < 64; i++) void capture.push(chunk);
    const out = await capture.finish();
    expect(out.totalBytes).toBe(64 << 20);
    const meta = await s.meta(out.refId ?? '');
    expect(meta.total_bytes).toBe(64 << 20);
    // Held in memory on the way to disk: at most the 16 MiB backlog plus the chunk that crossed it.
    expect(meta.kept_bytes).toBeGreaterThanOrEqual(16 << 20);
    expect(meta.kept_bytes).toBeLessThanOrEqual(17 << 20);
    expect(out.text).toContain(`its first ${meta.kept_bytes} bytes are kept as ${meta.ref_id}`);
    expect((await s.readBytes(meta.ref_id, 0, 64 << 20)).bytes.length).toBe(meta.kept_bytes);
  });

  it('a producer that waits for the disk gets everything kept', async () => {
    const s = await store();
    const capture = new StreamCapture(1000, s, 'stdout');
    await feed(capture, Buffer.alloc(40 << 20, 'w'), 1 << 20);
    const out = await capture.finish();
    expect((await s.meta(out.refId ?? '')).kept_bytes).toBe(40 << 20);
    expect(out.text).toContain('the whole stdout is kept as');
  });

describe('ContentStore', () => {
  it('reads text in chunks that end on character boundaries and join exactly', async () => {
    const s = await store();
    const text = '😀€a'.repeat(100);
    const meta = await s.put(text, 'text/plain', 'test');
    expect(meta.total_bytes).toBe(Buffer.byteLength(text));
    for (const length of [1, 4, 5, 7, 100, 4096]) expect(await readAll(s, meta.ref_id, Math.max(length, 4))).toBe(text);
    const chunk = await s.readText(meta.ref_id, 0, 5);
    expect(chunk).toMatchObject({ text: '😀', offset: 0, next_offset: 4 });
    expect((await s.readText(meta.ref_id, meta.kept_bytes + 10, 10)).next_offset).toBeNull();
  });

  it('refuses malformed and missing refs with CONTENT_NOT_FOUND', async () => {
    const s = await store();
    for (const ref of ['../../etc/passwd', 'ref_zz', 'env_0123456789', 'ref_0123456789']) {
      await expect(s.readText(ref)).rejects.toMatchObject({ code: 'CONTENT_NOT_FOUND' });
    }
  });

  it('drops items older than the TTL', async () => {
    const s = await store({ ttlMs: 100 });
    const old = await s.put('old', 'text/plain', 'x');
    await sleep(200);
    const fresh = await s.put('fresh', 'text/plain', 'x');
    await expect(s.meta(old.ref_id)).rejects.toMatchObject({ code: 'CONTENT_NOT_FOUND' });
    expect((await s.readText(fresh.ref_id)).text).toBe('fresh');
    expect(await readdir(dir)).not.toContain(old.ref_id);
  });

  it('evicts the oldest items when the total passes the cap, never the newest', async () => {
    const s = await store({ maxTotalBytes: 1000 });
    const a = await s.put('a'.repeat(400), 'text/plain', 'a');
    await sleep(5);
    const b = await s.put('b'.repeat(400), 'text/plain', 'b');
    await sleep(5);
    const c = await s.put('c'.repeat(400), 'text/plain', 'c');
    await expect(s.meta(a.ref_id)).rejects.toMatchObject({ code: 'CONTENT_NOT_FOUND' });
    expect((await s.readText(b.ref_id)).text).toBe('b'.repeat(400));
    expect((await s.readText(c.ref_id)).text).toBe('c'.repeat(400));
    // One item larger than the cap is cut to the cap, and kept.
    const big = await s.put('d'.repeat(5000), 'text/plain', 'd');
    expect(big).toMatchObject({ total_bytes: 5000, kept_bytes: 1000 });
    expect((await s.list()).map((m) => m.ref_id)).toEqual([big.ref_id]);
  });

  it('survives a new store over the same directory (restart)', async () => {
    const first = await store();
    const meta = await first.put('kept across restarts', 'text/plain', 'x');
    const second = await store();
    expect((await second.readText(meta.ref_id)).text).toBe('kept across restarts');
  });
});

describe('utf8Boundary', () => {
  it('steps back over a cut multi-byte sequence only', () => {
    const bytes = Buffer.from('a€😀');
    // a=1 byte, €=3 bytes (1..3), 😀=4 bytes (4..7)
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((end) => utf8Boundary(bytes, end))).toEqual([1, 1, 1, 4, 4, 4, 4, 8]);
  });
});
