import type { ContentStore } from '../content/content-store.js';
import { StreamCapture } from '../exec/capture.js';
import type { ExecStatus } from '../exec/spawn.js';
import type { ExecutionResult } from '../exec/result.js';
import type { AppliedSandbox } from '../sandbox/limits.js';
import type { CellError, CellEvents, MimeBundle } from './types.js';

/** One rich output of a cell; large ones are kept by reference instead of inline. */
export interface ReplOutput {
  mime: string;
  data: string | null;
  ref_id: string | null;
  bytes: number;
}

/** DESIGN.md section 4's execution shape plus the REPL fields. */
export interface ReplResult extends ExecutionResult {
  session_id: string;
  execution_count: number | null;
  result: string | null;
  outputs: ReplOutput[];
  replayed_cells: number | null;
  state_lost: boolean;
}

/** Notebook preference: the richest form of a bundle an agent can use. */
const PREFERRED = ['image/png', 'image/jpeg', 'image/gif', 'image/svg+xml', 'text/markdown', 'text/html', 'text/latex', 'application/json', 'text/plain'];
const IMAGE_MAX_BYTES = 1_048_576;
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('');
  return JSON.stringify(value);
}

/** Collects one cell's streams and outputs as they arrive, then builds the result. */
export class CellCollector implements CellEvents {
  readonly stdout: StreamCapture;
  readonly stderr: StreamCapture;
  private pending: { mime: string; data: string }[] = [];

  constructor(
    private readonly content: ContentStore,
    private readonly maxChars: number,
  ) {
    this.stdout = new StreamCapture(maxChars, content, 'stdout');
    this.stderr = new StreamCapture(maxChars, content, 'stderr');
  }

  stream(name: 'stdout' | 'stderr', chunk: Buffer): Promise<void> | undefined {
    return this[name].push(chunk);
  }

  display(bundle: MimeBundle, skipPlain = false): void {
    const mime = PREFERRED.find((m) => bundle[m] !== undefined && !(skipPlain && m === 'text/plain'));
    if (mime) this.pending.push({ mime, data: asText(bundle[mime]) });
  }

  clear(): void {
    this.pending = [];
  }

  private async finishOutput(item: { mime: string; data: string }): Promise<ReplOutput> {
    if (item.mime.startsWith('image/') && item.mime !== 'image/svg+xml') {
      const data = item.data.replace(/\s+/g, '');
      const bytes = Math.floor((data.length * 3) / 4);
      if (bytes <= IMAGE_MAX_BYTES) return { mime: item.mime, data, ref_id: null, bytes };
      const meta = await this.content.put(data, `${item.mime};base64`, `a ${item.mime} output (base64)`);
      return { mime: item.mime, data: null, ref_id: meta.ref_id, bytes };
    }
    const bytes = Buffer.byteLength(item.data);
    if (item.data.length <= this.maxChars) return { mime: item.mime, data: item.data, ref_id: null, bytes };
    const meta = await this.content.put(item.data, item.mime, `a ${item.mime} output`);
    return { mime: item.mime, data: `${item.data.slice(0, this.maxChars)}\n… [cut; the whole output is ${meta.ref_id}]`, ref_id: meta.ref_id, bytes };
  }

  async finish(fields: {
    sessionId: string;
    status: ExecStatus;
    result: MimeBundle | null;
    error: CellError | null;
    executionCount: number | null;
    durationMs: number;
    peakMemoryMb: number | null;
    sandbox: AppliedSandbox;
    warnings: string[];
    replayedCells: number | null;
    stateLost: boolean;
  }): Promise<ReplResult> {
    if (fields.result) this.display(fields.result, true);
    const [stdout, stderr, outputs] = await Promise.all([this.stdout.finish(), this.stderr.finish(), Promise.all(this.pending.map((o) => this.finishOutput(o)))]);
    const plain = fields.result?.['text/plain'];
    const error = fields.error
      ? { name: fields.error.name, message: stripAnsi(fields.error.message), traceback: fields.error.traceback === null ? null : stripAnsi(fields.error.traceback) }
      : null;
    return {
      session_id: fields.sessionId,
      status: fields.status,
      exit_code: null,
      signal: null,
      stdout: stdout.text,
      stderr: stderr.text,
      truncated:
        stdout.truncated || stderr.truncated
          ? { stdout_bytes: stdout.totalBytes, stderr_bytes: stderr.totalBytes, ref_id: stdout.refId ?? stderr.refId ?? '', stdout_ref_id: stdout.refId, stderr_ref_id: stderr.refId }
          : null,
      error,
      duration_ms: Math.round(fields.durationMs * 100) / 100,
      cpu_ms: null,
      peak_memory_mb: fields.peakMemoryMb,
      sandbox: fields.sandbox,
      warnings: fields.warnings,
      execution_count: fields.executionCount,
      result: plain === undefined ? null : asText(plain),
      outputs,
      replayed_cells: fields.replayedCells,
      state_lost: fields.stateLost,
    };
  }
}
