import { describe, expect, it } from 'vitest';
import { decodeJsonString, locateStreamText } from '../../src/runtime/sessions/json-text.js';

/** What JSON.parse makes of the frame's text, as bytes: the reference the decoder must match. */
const reference = (frame: Buffer): Buffer => Buffer.from((JSON.parse(frame.toString('utf8')) as { text: string }).text, 'utf8');

function decoded(frame: Buffer, chunkBytes: number): { name: string | undefined; bytes: Buffer; chunks: number } {
  const at = locateStreamText(frame);
  if (!at) throw new Error('not found');
  const chunks = [...decodeJsonString(frame, at.start, at.end, chunkBytes)];
  return { name: at.name, bytes: Buffer.concat(chunks), chunks: chunks.length };
}

/** Python's json.dumps, with and without ensure_ascii, writes these; random text exercises every escape. */
function randomText(length: number, seed: number): string {
  let state = seed;
  const next = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31);
  const pool = ['a', 'Z', ' ', '\n', '\t', '\r', '"', '\\', '/', '\b', '\f', '\u0001', '\u001f', 'é', 'ß', '€', '中', '😀', '\u2028', '\ud83d\ude00'];
  let out = '';
  for (let i = 0; i < length; i++) out += pool[next() % pool.length];
  return out;
}

/** JSON with every non-ASCII character escaped as \uXXXX (ensure_ascii=True), surrogate pairs included. */
const asciiJson = (value: unknown): string => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('big stream messages decoded in chunks', () => {
  it('gives the same bytes as JSON.parse, in chunks of any size, for raw and escaped unicode', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const text = randomText(500 + seed * 37, seed);
      for (const json of [JSON.stringify({ name: 'stderr', text }), asciiJson({ name: 'stdout', text })]) {
        const frame = Buffer.from(json, 'utf8');
        for (const chunk of [1, 7, 64, 1 << 20]) {
          const out = decoded(frame, chunk);
          expect(out.bytes.equals(reference(frame))).toBe(true);
          expect(['stdout', 'stderr']).toContain(out.name);
          if (chunk === 64) expect(out.chunks).toBeGreaterThan(1);
        }
      }
    }
  });

  it('finds text and name in any order, with other members and whitespace around them', () => {
    const frame = Buffer.from(' {\n "extra": {"a": [1, "}\\"]", {"b": null}]}, "text" : "hi\\nthere" ,"n": -1.5e3, "name":"stderr", "t": true }');
    expect(decoded(frame, 3)).toMatchObject({ name: 'stderr', bytes: Buffer.from('hi\nthere') });
  });

  it('turns a bad escape or a lone surrogate into U+FFFD, and refuses what is not a stream object', () => {
    const frame = Buffer.from('{"text": "a\\u12zzb\\ud800c\\udc00d"}');
    expect(decoded(frame, 1 << 20).bytes.toString('utf8')).toBe('a\ufffd12zzb\ufffdc\ufffdd');
    for (const bad of ['[]', '{"text": 1}', '{"text": "cut', '{"name" "x"}', '', '{"a": [1, 2}']) expect(locateStreamText(Buffer.from(bad))).toBeUndefined();
  });
});
