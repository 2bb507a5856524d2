import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningProcess } from '../exec/spawn.js';
import { encodeFrame, FrameReader, MarkerScanner } from './framing.js';
import { startInterpreterProcess, type InterpreterProcess, type LaunchContext } from './launch.js';
import { describeDeath, InterpreterDied, type CellError, type CellEvents, type CellReply, type Death, type Interpreter, type MimeBundle } from './types.js';

interface RunningCell {
  id: number;
  events: CellEvents;
  reply: CellReply | null;
  marks: number;
  /** End-of-cell markers the driver wrote (2 unless its done frame says fewer). */
  expectedMarks: number;
  resolve(reply: CellReply): void;
  reject(error: Error): void;
}

type DriverFrame =
  | { type: 'ready'; pid: number }
  | { type: 'display'; data: MimeBundle }
  | { type: 'done'; id: number; status: 'ok' | 'error'; result: MimeBundle | null; error: CellError | null; execution_count: number | null; marks?: number };

const READY_TIMEOUT_MS = 20_000;

/**
 * A builtin driver (python, javascript, bash) over framed pipes: commands on fd 3, events on
 * fd 4, user output on stdout and stderr, each stream closed per cell by the session's marker.
 */
export class DriverInterpreter implements Interpreter {
  readonly backend = 'builtin' as const;
  private cell: RunningCell | null = null;
  private nextId = 1;
  private readonly commands: NodeJS.WritableStream;
  private process: InterpreterProcess;

  private constructor(
    private readonly running: RunningProcess,
    readonly died: Promise<Death>,
    private readonly encoding: 'json' | 'raw',
    private readonly wire: {
      onFrame(handler: (frame: DriverFrame) => void): void;
      onMarker(handler: () => void): void;
      onData(handler: (name: 'stdout' | 'stderr', chunk: Buffer) => Promise<void> | undefined): void;
      /** Hands over bytes held back as a possible marker start (a cell that ended without a marker). */
      flushStreams(): void;
    },
  ) {
    this.process = { running, pid: running.pid, signal: (sig) => running.signalGroup(sig) };
    this.commands = running.pipes[0] as NodeJS.WritableStream;
    this.commands.on('error', () => undefined); // The driver died: `died` reports it.
    wire.onFrame((frame) => this.onFrame(frame));
    wire.onMarker(() => {
      if (this.cell) {
        this.cell.marks++;
        this.tryFinish();
      }
    });
    wire.onData((name, chunk) => this.cell?.events.stream(name, chunk));
    void died.then((death) => {
      const cell = this.cell;
      this.cell = null;
      cell?.reject(new InterpreterDied(death));
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  /**
   * `encoding` json: a framed JSON command (python, javascript); raw: "<id> <bytes>\n<code>", which
   * a shell can read without a JSON parser (bash).
   */
  static async start(launch: LaunchContext, command: string[], encoding: 'json' | 'raw' = 'json'): Promise<DriverInterpreter> {
    const marker = `\x1e\x1fhangar-end-${randomBytes(8).toString('hex')}\x1f\x1e`;
    const handlers = {
      frame: (_frame: DriverFrame): void => undefined,
      marker: (): void => undefined,
      data: (_name: 'stdout' | 'stderr', _chunk: Buffer): Promise<void> | undefined => undefined,
    };
    const scanners = {
      stdout: new MarkerScanner(Buffer.from(marker), (c) => handlers.data('stdout', c), () => handlers.marker()),
      stderr: new MarkerScanner(Buffer.from(marker), (c) => handlers.data('stderr', c), () => handlers.marker()),
    };
    const { running, locate } = await startInterpreterProcess(launch, command, { ...launch.env, HANGAR_DRIVER_MARK: marker }, {
      extraPipes: 2,
      onOutput: (name, chunk) => scanners[name].push(chunk),
    });
    let readyResolve: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (readyResolve = resolve));
    const events = running.pipes[1] as NodeJS.ReadableStream;
    const reader = new FrameReader((payload) => {
      const frame = payload as DriverFrame;
      if (frame.type === 'ready') readyResolve();
      else handlers.frame(frame);
    });
    events.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        running.kill('the driver broke its protocol');
      }
    });
    events.on('error', () => undefined);
    const died = running.done.then((outcome) => {
      scanners.stdout.flush();
      scanners.stderr.flush();
      return { exitCode: outcome.exitCode, signal: outcome.signal, reason: outcome.killReason ?? describeDeath(outcome.exitCode, outcome.signal) };
    });
    const driver = new DriverInterpreter(running, died, encoding, {
      onFrame: (h) => (handlers.frame = h),
      onMarker: (h) => (handlers.marker = h),
      onData: (h) => (handlers.data = h),
      flushStreams: () => {
        scanners.stdout.flush();
        scanners.stderr.flush();
      },
    });
    const first = await Promise.race([ready.then(() => 'ready' as const), died.then(() => 'died' as const), sleep(READY_TIMEOUT_MS).then(() => 'slow' as const)]);
    if (first !== 'ready') {
      running.kill('the driver did not start');
      const death = await died;
      throw new InterpreterDied({ ...death, reason: first === 'slow' ? `the driver did not start within ${READY_TIMEOUT_MS / 1000} s` : `the driver failed to start: ${death.reason}` });
    }
    driver.process = await locate();
    return driver;
  }

  execute(code: string, events: CellEvents): Promise<CellReply> {
    if (this.cell) return Promise.reject(new Error('a cell is already running'));
    return new Promise<CellReply>((resolve, reject) => {
      const id = this.nextId++;
      this.cell = { id, events, reply: null, marks: 0, expectedMarks: 2, resolve, reject };
      if (this.encoding === 'json') this.commands.write(encodeFrame({ op: 'execute', id, code }));
      else {
        const body = Buffer.from(code, 'utf8');
        this.commands.write(Buffer.concat([Buffer.from(`${id} ${body.length}\n`), body]));
      }
    });
  }

  private onFrame(frame: DriverFrame): void {
    const cell = this.cell;
    if (!cell) return;
    if (frame.type === 'display') cell.events.display(frame.data);
    else if (frame.type === 'done' && frame.id === cell.id) {
      cell.reply = { status: frame.status, result: frame.result, error: frame.error, executionCount: frame.execution_count };
      if (typeof frame.marks === 'number') cell.expectedMarks = frame.marks;
      this.tryFinish();
    }
  }

  private tryFinish(): void {
    const cell = this.cell;
    if (!cell?.reply || cell.marks < cell.expectedMarks) return;
    // Without a marker on a stream, a held-back tail that looked like a marker's start is this cell's.
    if (cell.expectedMarks < 2) this.wire.flushStreams();
    this.cell = null;
    cell.resolve(cell.reply);
  }

  endIfForkRefused(): string | null {
    return this.running.endIfForkRefused();
  }

  interrupt(): Promise<void> {
    this.process.signal('SIGINT');
    return Promise.resolve();
  }

  async stop(reason: string): Promise<void> {
    this.running.kill(reason);
    await this.died;
  }
}
