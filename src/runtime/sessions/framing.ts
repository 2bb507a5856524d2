/**
 * The builtin drivers' framing: payload length in ASCII decimal, a newline, then UTF-8 JSON.
 * Trivial to speak from Python, Node and bash; a print by user code can never break it because
 * frames travel on their own pipes (fds 3 and 4), not on stdout.
 */
export function encodeFrame(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'ascii'), body]);
}

export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (payload: unknown) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const newline = this.buffer.indexOf(10);
      if (newline < 0) return;
      const length = Number(this.buffer.subarray(0, newline).toString('ascii'));
      if (!Number.isInteger(length) || length < 0) throw new Error('driver sent a malformed frame header');
      const end = newline + 1 + length;
      if (this.buffer.length < end) return;
      const body = this.buffer.subarray(newline + 1, end).toString('utf8');
      this.buffer = this.buffer.subarray(end);
      this.onFrame(JSON.parse(body));
    }
  }
}

/**
 * Finds the session's end-of-cell marker in a stream: bytes before it belong to the running cell.
 * Keeps a marker-length tail between chunks, so a marker split across reads is still found.
 */
export class MarkerScanner {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly marker: Buffer,
    private readonly onData: (chunk: Buffer) => Promise<void> | undefined,
    private readonly onMarker: () => void,
  ) {}

  /** Returns the consumer's backpressure for the bytes it was handed (see CellEvents.stream). */
  push(chunk: Buffer): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    const hand = (bytes: Buffer): void => {
      const wait = this.onData(bytes);
      if (wait) waits.push(wait);
    };
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const at = data.indexOf(this.marker);
      if (at < 0) break;
      if (at > 0) hand(data.subarray(0, at));
      data = data.subarray(at + this.marker.length);
      this.onMarker();
    }
    // Keep what could be the start of a marker; pass the rest on now.
    const keep = Math.min(data.length, this.marker.length - 1);
    let split = data.length - keep;
    while (split < data.length && !this.marker.subarray(0, data.length - split).equals(data.subarray(split))) split++;
    if (split > 0) hand(data.subarray(0, split));
    this.pending = Buffer.from(data.subarray(split));
    return waits.length === 0 ? undefined : waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** Whatever is held back (the process died mid-marker): hand it over. */
  flush(): void {
    if (this.pending.length > 0) void this.onData(this.pending);
    this.pending = Buffer.alloc(0);
  }
}
