import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** One JSON line per tool call (DESIGN.md section 7): time, tool, argument summary, status, ms. */
export interface AuditEntry {
  time: string;
  tool: string;
  args: Record<string, string>;
  status: 'ok' | 'error';
  code?: string;
  ms: number;
}

export class AuditLog {
  private pending: Promise<void> = Promise.resolve();
  /** Opened once and kept: an open + close per call was most of the audit's cost (BENCHMARKS.md). */
  private handle: FileHandle | undefined;

  constructor(private readonly file: string) {}

  record(entry: AuditEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    // Appends are chained so lines never interleave; a failing disk never fails the tool call.
    // The write starts after the current turn of the event loop, so the call's reply goes out
    // first instead of sharing the CPU with it.
    this.pending = this.pending.then(() => nextTurn()).then(() => this.append(line)).catch(() => this.closeHandle());
  }

  flush(): Promise<void> {
    return this.pending;
  }

  /** Writes what is pending and releases the file. Later records reopen it. */
  async close(): Promise<void> {
    await this.pending;
    await this.closeHandle();
  }

  private async append(line: string): Promise<void> {
    this.handle ??= await open(this.file, 'a', 0o600);
    await this.handle.write(line);
  }

  /** After a failed write, drop the handle so the next record starts from a fresh open. */
  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}

const SECRET_KEY = /token|secret|password|passwd|auth|credential|api[_-]?key/i;

/** A short, secret-free summary of tool arguments: long values cut, secret-looking keys hidden. */
export function summarizeArgs(args: unknown, maxValue = 80): Record<string, string> {
  if (typeof args !== 'object' || args === null) return {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(args as Record<string, unknown>)) {
    if (SECRET_KEY.test(key)) {
      out[key] = '[hidden]';
      continue;
    }
    const full = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
    // Credentials inside URLs (https://user:token@host) never reach the log. Only the shown part is
    // searched (plus room for a URL that crosses the cut): the whole could be megabytes.
    const text = full.length > maxValue ? `${redactUserinfo(full.slice(0, maxValue + 1024)).slice(0, maxValue)}… (${full.length} chars)` : redactUserinfo(full);
    out[key] = text;
  }
  return out;
}

function redactUserinfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]{0,31}:\/\/)[^/@\s"]+@/gi, '$1***@');
}
