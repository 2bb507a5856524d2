import { LineAppender } from './line-appender.js';

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
  private readonly appender: LineAppender;

  constructor(file: string) {
    this.appender = new LineAppender(file);
  }

  /** Written after the call's reply has gone out (LineAppender); a failing disk never fails the tool call. */
  record(entry: AuditEntry): void {
    this.appender.append(`${JSON.stringify(entry)}\n`).catch(() => undefined);
  }

  /** Writes what is pending and releases the file. Later records reopen it. */
  close(): Promise<void> {
    this.appender.close();
    return Promise.resolve();
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
