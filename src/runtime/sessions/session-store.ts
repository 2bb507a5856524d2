import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isWellFormedId } from '../ids.js';
import { RecordType } from '../store/records.js';
import type { DataLayout } from '../store/layout.js';
import { LineAppender } from '../store/line-appender.js';

/** A session's metadata (session.json) and the cells that succeeded (history.jsonl), for restore. */
export const SessionRecordSchema = z.object({
  session_id: z.string(),
  name: z.string(),
  env_id: z.string(),
  language: z.string(),
  backend: z.enum(['builtin', 'kernel']),
  kernel: z.string().nullable(),
  replay: z.boolean(),
  created_at: z.string(),
  /** The sandbox arguments of repl_create (PolicyRequest): a restored session runs under the same policy. Absent in older records. */
  policy: z
    .object({
      sandbox: z.enum(['process', 'isolated']).optional(),
      network: z.enum(['off', 'on']).optional(),
      timeoutS: z.number().optional(),
      memoryMb: z.number().optional(),
      cpuS: z.number().optional(),
      maxProcesses: z.number().optional(),
      maxFileMb: z.number().optional(),
      maxOutputChars: z.number().optional(),
    })
    .optional(),
});
export type SessionRecord = z.infer<typeof SessionRecordSchema>;

const sessionRecord = new RecordType('session', 1, SessionRecordSchema);

export class SessionStore {
  /** Per session, the history writes under way: appends stay in order and reads wait for them. */
  private readonly writes = new Map<string, Promise<void>>();
  /** Open history files (O_APPEND), kept between cells: one write per cell instead of open, write, close. */
  private readonly appenders = new Map<string, LineAppender>();

  constructor(private readonly layout: DataLayout) {}

  /** Runs `write` after the session's earlier writes; a failed write is logged by the caller, never fatal. */
  private chain(id: string, write: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(id) ?? Promise.resolve()).then(write, write);
    const settled = next.catch(() => undefined);
    this.writes.set(id, settled);
    void settled.then(() => {
      if (this.writes.get(id) === settled) this.writes.delete(id);
    });
    return next;
  }

  private settled(id: string): Promise<void> {
    return this.writes.get(id) ?? Promise.resolve();
  }

  private file(id: string, name: string): string {
    return path.join(this.layout.session(id), name);
  }

  save(record: SessionRecord): Promise<void> {
    return sessionRecord.write(this.file(record.session_id, 'session.json'), record);
  }

  /** Every stored session; a broken record is skipped with a note, never fatal at start. */
  async loadAll(onBroken: (id: string, error: unknown) => void): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const id of await readdir(this.layout.sessions).catch(() => [])) {
      if (!isWellFormedId(id)) continue;
      try {
        const record = await sessionRecord.read(this.file(id, 'session.json'));
        if (record && record.session_id === id) out.push(record);
      } catch (error) {
        onBroken(id, error);
      }
    }
    return out;
  }

  /**
   * Off the reply path: the cell's result goes back without waiting for the disk; appends of one
   * session stay in order, and history() / clearHistory() / remove() wait for them.
   */
  appendHistory(id: string, code: string): Promise<void> {
    const line = `${JSON.stringify({ code, at: new Date().toISOString() })}\n`;
    return this.chain(id, () => {
      let appender = this.appenders.get(id);
      if (!appender) {
        appender = new LineAppender(this.file(id, 'history.jsonl'));
        this.appenders.set(id, appender);
      }
      return appender.append(line);
    });
  }

  private closeAppender(id: string): void {
    this.appenders.get(id)?.close();
    this.appenders.delete(id);
  }

  clearHistory(id: string): Promise<void> {
    return this.chain(id, async () => {
      this.closeAppender(id);
      await writeFile(this.file(id, 'history.jsonl'), '');
    });
  }

  /** The cells to replay; a torn last line (crash mid-append) is ignored. */
  async history(id: string): Promise<string[]> {
    await this.settled(id);
    const text = await readFile(this.file(id, 'history.jsonl'), 'utf8').catch(() => '');
    const cells: string[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const entry = JSON.parse(line) as { code?: unknown };
        if (typeof entry.code === 'string') cells.push(entry.code);
      } catch {
        // Torn line.
      }
    }
    return cells;
  }

  remove(id: string): Promise<void> {
    return this.chain(id, async () => {
      this.closeAppender(id);
      await rm(this.layout.session(id), { recursive: true, force: true });
    });
  }

  /** Waits for every write under way and closes the history files (a restart finds the whole history). */
  async close(): Promise<void> {
    await Promise.all([...this.writes.values()]);
    for (const id of [...this.appenders.keys()]) this.closeAppender(id);
  }
}
