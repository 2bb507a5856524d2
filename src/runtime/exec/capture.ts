import type { ContentStore, SpillWriter } from '../content/content-store.js';

/**
 * Captures one output stream with bounded memory: the first and last bytes stay in memory, and
 * once the stream passes the cap everything is also streamed to a content item on disk, so the
 * agent gets head + tail and can read the whole by reference. Memory use is O(cap), whatever the
 * program prints.
 */
export interface CapturedOutput {
  /** What the agent sees: the whole text, or head + marker + tail. */
  text: string;
  totalBytes: number;
  truncated: boolean;
  /** Content item holding the whole stream when truncated. */
  refId: string | null;
}

export class StreamCapture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;
  private spill: SpillWriter | undefined;
  private readonly byteBudget: number;

  constructor(
    private readonly maxChars: number,
    private readonly content: ContentStore,
    private readonly label: string,
  ) {
    // A character is at most 4 bytes: this keeps enough bytes for maxChars characters at either end.
    this.byteBudget = Math.max(64, maxChars * 4);
  }

  /** Adds a chunk; resolves when it is safe to read more (disk backpressure). */
  push(chunk: Buffer): Promise<void> | undefined {
    this.total += chunk.length;
    if (this.headBytes < this.byteBudget) {
      const take = chunk.subarray(0, this.byteBudget - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0]?.length ?? 0) >= this.byteBudget) {
      this.tailBytes -= this.tail.shift()?.length ?? 0;
    }
    if (this.tailBytes > this.byteBudget * 2) {
      // One huge chunk: keep only its end.
      const joined = Buffer.concat(this.tail);
      this.tail = [joined.subarray(joined.length - this.byteBudget)];
      this.tailBytes = this.byteBudget;
    }
    if (!this.spill && this.total > this.maxChars) {
      // Possibly over the cap (bytes ≥ chars): from here on, keep the whole stream on disk.
      this.spill = this.content.createSpill('text/plain; charset=utf-8', this.label);
      const seen = Buffer.concat(this.head);
      if (seen.length === this.total) this.spill.write(seen);
      else {
        this.spill.write(seen);
        this.spill.write(chunk.subarray(Math.max(0, chunk.length - (this.total - seen.length))));
      }
      return this.spill.drain();
    }
    if (this.spill && this.total - chunk.length > this.maxChars) {
      return this.spill.write(chunk) ? undefined : this.spill.drain();
    }
    return undefined;
  }

  async finish(): Promise<CapturedOutput> {
    const headText = Buffer.concat(this.head).toString('utf8');
    if (this.total <= this.byteBudget && [...headText].length <= this.maxChars) {
      await this.spill?.discard();
      return { text: headText, totalBytes: this.total, truncated: false, refId: null };
    }
    const half = Math.floor(this.maxChars / 2);
    const headPart = trimBrokenEnd([...headText].slice(0, half).join(''));
    const tailText = Buffer.concat(this.tail).toString('utf8');
    const tailChars = [...tailText];
    const tailPart = trimBrokenStart(tailChars.slice(Math.max(0, tailChars.length - half)).join(''));
    const hidden = Math.max(0, this.total - Buffer.byteLength(headPart) - Buffer.byteLength(tailPart));
    let refId: string | null = null;
    let where = '';
    if (this.spill) {
      const meta = await this.spill.finish();
      refId = meta.ref_id;
      // The content cap, or a disk that fell behind a producer that cannot wait, kept a prefix only.
      const what = meta.kept_bytes < meta.total_bytes ? `its first ${meta.kept_bytes} bytes are` : `the whole ${this.label} is`;
      where = `; ${what} kept as ${refId} (get_content, or resource hangar://content/${refId})`;
    }
    const marker = `\n… [${hidden} bytes of ${this.label} hidden${where}] …\n`;
    return { text: `${headPart}${marker}${tailPart}`, totalBytes: this.total, truncated: true, refId };
  }

  /** Throws away any spill; used when the run itself failed before producing a result. */
  async abandon(): Promise<void> {
    await this.spill?.discard();
  }
}

function trimBrokenEnd(text: string): string {
  return text.endsWith('\uFFFD') ? text.slice(0, -1) : text;
}

function trimBrokenStart(text: string): string {
  return text.startsWith('\uFFFD') ? text.slice(1) : text;
}
