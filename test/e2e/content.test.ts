import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, tempDir, type StdioSession } from '../helpers/cli.js';
import { peakRssDuring } from '../helpers/procs.js';
import { call, exec } from '../helpers/results.js';

const MIB = 1048576;
const BLOCKS = 200;
/** Block i is "BLOCK %06d\n" then filler up to exactly 1 MiB: any byte's value is computable. */
const FLOOD = `import sys
filler = 'x' * (${MIB} - 13)
for i in range(${BLOCKS}):
    sys.stdout.write(f'BLOCK {i:06d}\\n' + filler)
`;

function expectedBytes(offset: number, length: number): string {
  let out = '';
  for (let pos = offset; pos < offset + length; ) {
    const block = Math.floor(pos / MIB);
    const within = pos - block * MIB;
    const header = `BLOCK ${String(block).padStart(6, '0')}\n`;
    const full = header + 'x'.repeat(MIB - 13);
    const take = Math.min(MIB - within, offset + length - pos);
    out += full.slice(within, within + take);
    pos += take;
  }
  return out;
}

interface Chunk {
  text: string;
  offset: number;
  next_offset: number | null;
  total_bytes: number;
  kept_bytes: number;
}

describe('200 MB of output', () => {
  let s: StdioSession;
  let refId = '';
  const dataDir = { path: '' };
  beforeAll(async () => {
    dataDir.path = await tempDir();
    s = await startStdio({ dataDir: dataDir.path });
  });
  afterAll(async () => s.close());

  it('returns head + tail, keeps the whole by reference, and the server memory stays bounded', async () => {
    const { result: r, before, peak } = await peakRssDuring(s.pid ?? -1, () => exec(s.client, { code: FLOOD, timeout_s: 120 }));
    expect(r.status).toBe('ok');
    expect(r.truncated?.stdout_bytes).toBe(BLOCKS * MIB);
    expect(r.truncated?.stderr_bytes).toBe(0);
    expect(r.truncated?.stdout_ref_id).toBe(r.truncated?.ref_id);
    refId = r.truncated?.ref_id ?? '';
    expect(refId).toMatch(/^ref_[0-9a-f]+$/);
    expect(r.stdout.startsWith('BLOCK 000000\nxxx')).toBe(true);
    expect(r.stdout.endsWith('xxxx')).toBe(true);
    expect(r.stdout).toContain(refId);
    expect(r.stdout.length).toBeLessThan(21_000);
    const hidden = Number(/\[(\d+) bytes of stdout hidden/.exec(r.stdout)?.[1]);
    expect(hidden).toBeGreaterThan(BLOCKS * MIB - 21_000);
    console.log(`server RSS ${Math.round(before / MIB)} MiB before, ${Math.round(peak / MIB)} MiB peak`);
    expect(peak - before).toBeLessThan(200 * MIB);
  });

  it('the whole stream is readable in chunks that join exactly', async () => {
    const first = (await call(s.client, 'get_content', { ref_id: refId, length: 20 })).structured as unknown as Chunk;
    expect(first).toMatchObject({ text: 'BLOCK 000000\nxxxxxxx', offset: 0, next_offset: 20, total_bytes: BLOCKS * MIB, kept_bytes: BLOCKS * MIB });
    // A region that crosses a block boundary, read in odd-sized chunks.
    const start = 123 * MIB - 70_000;
    const want = 150_000;
    let text = '';
    let offset: number | null = start;
    while (offset !== null && text.length < want) {
      const chunk = (await call(s.client, 'get_content', { ref_id: refId, offset, length: 33_333 })).structured as unknown as Chunk;
      expect(chunk.offset).toBe(offset);
      text += chunk.text;
      offset = chunk.next_offset;
    }
    expect(text.slice(0, want)).toBe(expectedBytes(start, want));
    const last = (await call(s.client, 'get_content', { ref_id: refId, offset: BLOCKS * MIB - 10, length: 1000 })).structured as unknown as Chunk;
    expect(last).toMatchObject({ text: 'x'.repeat(10), next_offset: null });
  });

  it('is a resource hangar://content/{ref}, listed and readable', async () => {
    const { resources } = await s.client.listResources();
    expect(resources.map((r) => r.uri)).toContain(`hangar://content/${refId}`);
    const read = await s.client.readResource({ uri: `hangar://content/${refId}` });
    const text = (read.contents[0] as { text: string }).text;
    expect(text.startsWith('BLOCK 000000\n')).toBe(true);
    expect(text).toContain('get_content');
    await expect(s.client.readResource({ uri: 'hangar://content/ref_000000000000' })).rejects.toThrow(/CONTENT_NOT_FOUND/);
    await expect(s.client.readResource({ uri: 'file:///etc/passwd' })).rejects.toThrow(/RESOURCE_NOT_FOUND|not found/i);
  });

  it('a ref written before a restart is readable after it (same --data-dir)', async () => {
    await s.close();
    s = await startStdio({ dataDir: dataDir.path });
    const chunk = (await call(s.client, 'get_content', { ref_id: refId, offset: 77 * MIB, length: 13 })).structured as unknown as Chunk;
    expect(chunk.text).toBe('BLOCK 000077\n');
    const read = await s.client.readResource({ uri: `hangar://content/${refId}` });
    expect((read.contents[0] as { text: string }).text.slice(0, 13)).toBe('BLOCK 000000\n');
  });

  it('get_content of a missing or malformed ref is CONTENT_NOT_FOUND', async () => {
    for (const ref of ['ref_0123456789ab', '../../etc/passwd', 'ref_../x']) {
      const outcome = await call(s.client, 'get_content', { ref_id: ref });
      expect(outcome.isError).toBe(true);
      expect(outcome.text).toMatch(/^CONTENT_NOT_FOUND: /);
    }
  });
});

describe('audit log', () => {
  it('gets one JSON line per call, without secrets', async () => {
    const dataDir = await tempDir();
    const s = await startStdio({ dataDir });
    try {
      await exec(s.client, { code: 'print(1)' });
      await call(s.client, 'run_code', { code: 'print(2)', api_key: 'sk-SECRET-VALUE-123' });
      await call(s.client, 'no_such_tool', { password: 'hunter2-SECRET' });
      await call(s.client, 'list_languages', {});
    } finally {
      await s.close();
    }
    const text = await readFile(path.join(dataDir, 'audit.log'), 'utf8');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(4);
    const entries = lines.map((line) => JSON.parse(line) as { tool: string; status: string; code?: string; ms: number; time: string; args: Record<string, string> });
    expect(entries.map((e) => [e.tool, e.status, e.code])).toEqual([
      ['run_code', 'ok', undefined],
      ['run_code', 'error', 'INVALID_ARGUMENT'],
      ['no_such_tool', 'error', 'UNKNOWN_TOOL'],
      ['list_languages', 'ok', undefined],
    ]);
    expect(entries[0]?.args.code).toBe('print(1)');
    for (const e of entries) {
      expect(Date.parse(e.time)).not.toBeNaN();
      expect(e.ms).toBeGreaterThanOrEqual(0);
    }
    expect(text).not.toContain('SECRET');
  });
});
