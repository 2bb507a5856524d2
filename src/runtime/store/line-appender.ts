import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Lines appended to one file (the audit log, a session's history) off the reply path.
 *
 * `append` queues a line; the queue is written after the current turn of the event loop, so a tool
 * call's reply goes out first, in one `write` on a descriptor opened once (O_APPEND). The write is
 * synchronous on purpose: a few hundred bytes into the page cache cost less than handing them to
 * libuv's thread pool and back, which on a 2-core host means two more thread wake-ups next to a
 * busy interpreter (BENCHMARKS.md, issue 5). Lines never interleave and keep their order.
 *
 * A failed write (disk full, file removed) rejects the appends it carried and drops the descriptor;
 * the next append reopens the file. Owned by whoever creates it.
 */
export class LineAppender {
  private fd: number | undefined;
  private queue: { line: string; settle(error?: unknown): void }[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly file: string) {}

  append(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, settle: (error) => (error === undefined ? resolve() : reject(error instanceof Error ? error : new Error(String(error)))) });
      this.scheduled ??= setImmediate(() => this.writeQueued());
    });
  }

  private writeQueued(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let failure: unknown;
    try {
      this.fd ??= openSync(this.file, 'a', 0o600);
      const bytes = Buffer.from(batch.map((entry) => entry.line).join(''), 'utf8');
      for (let written = 0; written < bytes.length; ) written += writeSync(this.fd, bytes, written);
    } catch (error) {
      failure = error ?? new Error('write failed');
      this.release();
    }
    for (const entry of batch) entry.settle(failure);
  }

  /** Writes what is queued and releases the descriptor; a later append reopens the file. */
  close(): void {
    this.writeQueued();
    this.release();
  }

  private release(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already gone.
      }
    }
  }
}
