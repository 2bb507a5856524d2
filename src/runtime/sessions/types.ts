/**
 * What every session backend (builtin driver, local Jupyter kernel) offers the session manager:
 * run a cell with events as they happen, interrupt, and report its own death.
 */
export type MimeBundle = Record<string, unknown>;

export interface CellError {
  name: string;
  message: string;
  traceback: string | null;
}

export interface CellEvents {
  /** A returned promise is backpressure: read no more of that stream until it settles. */
  stream(name: 'stdout' | 'stderr', chunk: Buffer): Promise<void> | undefined;
  display(bundle: MimeBundle): void;
  /** Jupyter clear_output: drop the outputs shown so far. */
  clear(): void;
}

export interface CellReply {
  status: 'ok' | 'error';
  /** The final expression's MIME bundle (execute_result), if any. */
  result: MimeBundle | null;
  error: CellError | null;
  executionCount: number | null;
}

export interface Death {
  exitCode: number | null;
  signal: string | null;
  reason: string;
}

export interface Interpreter {
  readonly backend: 'builtin' | 'kernel';
  readonly pid: number;
  /** Resolves when the interpreter is gone, for whatever reason. */
  readonly died: Promise<Death>;
  /** Runs one cell; rejects with InterpreterDied when the interpreter dies before answering. */
  execute(code: string, events: CellEvents): Promise<CellReply>;
  interrupt(): Promise<void>;
  /** See RunningProcess.endIfForkRefused: asked as each cell ends. */
  endIfForkRefused(): string | null;
  /** Ends the interpreter and everything it started; resolves when it is gone. */
  stop(reason: string): Promise<void>;
}

export class InterpreterDied extends Error {
  constructor(readonly death: Death) {
    super(death.reason);
  }
}

/** How a death is described to the agent: what happened, in words. */
export function describeDeath(exitCode: number | null, signal: string | null): string {
  if (signal === 'SIGSEGV') return 'the interpreter crashed (segmentation fault)';
  if (signal === 'SIGKILL') return 'the interpreter was killed (SIGKILL: out of memory, or killed from outside)';
  if (signal) return `the interpreter was ended by signal ${signal}`;
  return `the interpreter exited with code ${exitCode ?? '?'}`;
}
