/**
 * The text of a big Jupyter `stream` message, read from its JSON content frame in chunks.
 *
 * One `print` of 100 MB in a kernel arrives as one message. Parsed whole, the server holds it four
 * times over (the frame, the frame as a string, the parsed text, the text as bytes); decoded here it
 * holds the frame and one chunk. Only the members of the content's top-level object are looked at:
 * `name` is parsed, `text` is located and decoded in place, anything else is skipped.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** The index just past the JSON string that opens at `at` (a quote); -1 when it never closes. */
function stringEnd(frame: Buffer, at: number): number {
  for (let i = at + 1; i < frame.length; i++) {
    const byte = frame[i];
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i + 1;
  }
  return -1;
}

/** The index just past the JSON value that starts at `at`; -1 when it is cut off. */
function valueEnd(frame: Buffer, at: number): number {
  const first = frame[at];
  if (first === QUOTE) return stringEnd(frame, at);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let i = at; i < frame.length; i++) {
      const byte = frame[i];
      if (byte === QUOTE) {
        i = stringEnd(frame, i) - 1;
        if (i < 0) return -1;
      } else if (byte === 0x7b || byte === 0x5b) depth++;
      else if (byte === 0x7d || byte === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  let i = at;
  while (i < frame.length && frame[i] !== 0x2c && frame[i] !== 0x7d && !isSpace(frame[i])) i++;
  return i > at ? i : -1;
}

export interface StreamText {
  /** The `name` member ("stdout", "stderr"), when it is a string. */
  name: string | undefined;
  /** Byte span of the `text` string's body in the frame (between its quotes, still escaped). */
  start: number;
  end: number;
}

/** Finds `name` and the `text` string in a content frame; undefined when the frame is not such an object. */
export function locateStreamText(frame: Buffer): StreamText | undefined {
  let i = 0;
  const skip = (): void => {
    while (isSpace(frame[i])) i++;
  };
  skip();
  if (frame[i] !== 0x7b) return undefined;
  i++;
  let name: string | undefined;
  let text: { start: number; end: number } | undefined;
  for (;;) {
    skip();
    if (frame[i] === 0x7d) break;
    if (frame[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(frame, i);
    if (keyEnd < 0) return undefined;
    let key: unknown;
    try {
      key = JSON.parse(frame.toString('utf8', i, keyEnd));
    } catch {
      return undefined;
    }
    i = keyEnd;
    skip();
    if (frame[i] !== 0x3a) return undefined;
    i++;
    skip();
    const end = valueEnd(frame, i);
    if (end < 0) return undefined;
    if (key === 'text' && frame[i] === QUOTE) text = { start: i + 1, end: end - 1 };
    else if (key === 'name' && frame[i] === QUOTE) {
      try {
        name = JSON.parse(frame.toString('utf8', i, end)) as string;
      } catch {
        return undefined;
      }
    }
    i = end;
    skip();
    if (frame[i] === 0x2c) i++;
    else if (frame[i] !== 0x7d) return undefined;
  }
  return text ? { name, ...text } : undefined;
}

/**
 * The UTF-8 bytes of the JSON string body frame[start, end), unescaped, in chunks of about
 * `chunkBytes` (a chunk may end inside a multi-byte character; the bytes join exactly). An invalid
 * escape, or a lone surrogate, becomes U+FFFD.
 */
export function* decodeJsonString(frame: Buffer, start: number, end: number, chunkBytes = 1 << 20): Generator<Buffer> {
  let out = Buffer.allocUnsafe(Math.min(chunkBytes, end - start) + 8);
  let length = 0;
  const put = (bytes: Buffer): void => {
    bytes.copy(out, length);
    length += bytes.length;
  };
  const hex = (at: number): number => {
    const digits = at + 4 <= end ? frame.toString('latin1', at, at + 4) : '';
    return /^[0-9a-fA-F]{4}$/.test(digits) ? Number.parseInt(digits, 16) : Number.NaN;
  };
  let i = start;
  while (i < end) {
    if (length >= chunkBytes) {
      yield out.subarray(0, length);
      out = Buffer.allocUnsafe(Math.min(chunkBytes, end - i) + 8);
      length = 0;
    }
    const backslash = frame.indexOf(BACKSLASH, i);
    const runEnd = backslash < 0 || backslash >= end ? end : backslash;
    if (runEnd > i) {
      // Raw bytes up to the next escape, at most what fits in this chunk.
      const take = Math.min(runEnd - i, chunkBytes - length);
      frame.copy(out, length, i, i + take);
      length += take;
      i += take;
      continue;
    }
    const code = frame[i + 1] ?? 0;
    const simple = SIMPLE_ESCAPES[code];
    if (simple !== undefined) {
      out[length++] = simple;
      i += 2;
      continue;
    }
    let unit = code === 0x75 ? hex(i + 2) : Number.NaN;
    i += code === 0x75 && !Number.isNaN(unit) ? 6 : 2;
    if (Number.isNaN(unit)) unit = 0xfffd;
    else if (unit >= 0xd800 && unit <= 0xdbff && frame[i] === BACKSLASH && frame[i + 1] === 0x75) {
      const low = hex(i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
    }
    if (unit >= 0xd800 && unit <= 0xdfff) unit = 0xfffd;
    put(Buffer.from(String.fromCodePoint(unit), 'utf8'));
  }
  if (length > 0) yield out.subarray(0, length);
}
