import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Zmq from 'zeromq';
import type { RunningProcess } from '../exec/spawn.js';
import { decodeJsonString, locateStreamText } from './json-text.js';
import { JupyterWire, type JupyterMessage } from './jupyter-wire.js';
import type { KernelSpec } from './kernelspecs.js';
import { startInterpreterProcess, type InterpreterProcess, type LaunchContext } from './launch.js';
import { describeDeath, InterpreterDied, type CellEvents, type CellReply, type Death, type Interpreter, type MimeBundle } from './types.js';

const START_TIMEOUT_MS = 60_000;
const HEARTBEAT_EVERY_MS = 3000;
const HEARTBEAT_MISSES = 3;
/** The iopub message types onIopub acts on; others (execute_input, comm_*) are dropped unparsed. */
const IOPUB_HANDLED = new Set(['stream', 'execute_result', 'display_data', 'update_display_data', 'error', 'clear_output', 'status']);
/** A stream message with a bigger content frame is decoded in chunks (json-text.ts), not parsed whole. */
const STREAM_IN_CHUNKS_OVER = 1 << 20;

/**
 * IPython kernel settings in the kernel's private IPYTHONDIR (other kernels ignore the file).
 * The sqlite input history is off: Hangar keeps the session's history itself (for replay) and the
 * IPYTHONDIR is deleted with the run directory, so the database only cost ≈ 1.5 ms of CPU per cell
 * on a saving thread. `_execute_sleep` (0.5 ms after every cell, a workaround for clients that read
 * the reply before the outputs) is off: Hangar finishes a cell on iopub's idle status, which comes
 * after every output of the cell.
 */
const IPYTHON_KERNEL_CONFIG = { HistoryManager: { enabled: false }, Kernel: { _execute_sleep: 0 } };

interface RunningCell {
  msgId: string;
  events: CellEvents;
  idle: boolean;
  reply: { status: 'ok' | 'error'; executionCount: number | null } | null;
  result: MimeBundle | null;
  error: CellReply['error'];
  resolve(reply: CellReply): void;
  reject(error: Error): void;
}

/**
 * A local Jupyter kernel from a kernelspec, started on the one-shot launch path, spoken to over
 * ZMQ ipc sockets in the session's private directory (a sandboxed kernel has no network).
 */
export class KernelInterpreter implements Interpreter {
  readonly backend = 'kernel' as const;
  private cell: RunningCell | null = null;
  private readonly replies = new Map<string, (message: JupyterMessage) => void>();
  private iopubSeen = false;
  private closed = false;
  private process: InterpreterProcess;

  private constructor(
    private readonly running: RunningProcess,
    readonly died: Promise<Death>,
    private readonly spec: KernelSpec,
    private readonly wire: JupyterWire,
    private readonly sockets: { zmq: typeof Zmq; shell: Zmq.Dealer; control: Zmq.Dealer; iopub: Zmq.Subscriber; address: (port: number) => string },
  ) {
    this.process = { running, pid: running.pid, signal: (sig) => running.signalGroup(sig) };
    void this.readLoop(sockets.shell);
    void this.readLoop(sockets.control);
    void this.iopubLoop();
    void died.then((death) => {
      this.close();
      const cell = this.cell;
      this.cell = null;
      cell?.reject(new InterpreterDied(death));
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  static async start(launch: LaunchContext, spec: KernelSpec): Promise<KernelInterpreter> {
    const key = randomBytes(32).toString('hex');
    // The ipc socket files live in the run directory, which the kernel sees at launch.inside(...):
    // the connection file names its paths, Hangar connects to the same files by their host paths.
    const ip = path.join(launch.runDir, 'k');
    const connectionFile = path.join(launch.runDir, 'kernel.json');
    const ports = { shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5 };
    await writeFile(connectionFile, JSON.stringify({ ...ports, ip: launch.inside(ip), key, transport: 'ipc', signature_scheme: 'hmac-sha256', kernel_name: spec.name }), { mode: 0o600 });
    const command = spec.argv.map((a) => a.replaceAll('{connection_file}', launch.inside(connectionFile)).replaceAll('{resource_dir}', spec.resourceDir));
    const ipythonDir = path.join(launch.runDir, 'ipython');
    await mkdir(path.join(ipythonDir, 'profile_default'), { recursive: true });
    await writeFile(path.join(ipythonDir, 'profile_default', 'ipython_kernel_config.json'), JSON.stringify(IPYTHON_KERNEL_CONFIG));
    const env: Record<string, string> = { ...launch.env, ...spec.env, IPYTHONDIR: launch.inside(ipythonDir), JUPYTER_RUNTIME_DIR: launch.inside(launch.runDir) };
    // ipykernel picks its inline backend only when MPLBACKEND is unset.
    delete env.MPLBACKEND;
    const { running, locate } = await startInterpreterProcess(launch, command, env, { extraPipes: 0 });
    const died = running.done.then((o) => ({ exitCode: o.exitCode, signal: o.signal, reason: o.killReason ?? describeDeath(o.exitCode, o.signal) }));
    const address = (port: number): string => `ipc://${ip}-${port}`;
    // Loaded on first use: the native ZMQ binding is not needed until a kernel starts (server start-up is a target).
    const zmq = await import('zeromq');
    const shell = new zmq.Dealer({ linger: 0 });
    const control = new zmq.Dealer({ linger: 0 });
    const iopub = new zmq.Subscriber({ linger: 0 });
    shell.connect(address(ports.shell_port));
    control.connect(address(ports.control_port));
    iopub.connect(address(ports.iopub_port));
    iopub.subscribe();
    const kernel = new KernelInterpreter(running, died, spec, new JupyterWire(key), { zmq, shell, control, iopub, address });
    const ready = await Promise.race([kernel.handshake().then(() => 'ready' as const), died.then(() => 'died' as const)]);
    if (ready !== 'ready') {
      running.kill('the kernel did not start');
      const death = await died;
      throw new InterpreterDied({ ...death, reason: `kernel "${spec.name}" failed to start: ${death.reason}` });
    }
    kernel.process = await locate();
    void kernel.heartbeat(address(ports.hb_port));
    return kernel;
  }

  /** kernel_info until the shell answers and iopub delivers (a SUB socket misses early messages). */
  private async handshake(): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    let answered = false;
    while (!this.closed && performance.now() < deadline) {
      const { msgId, frames } = this.wire.request('kernel_info_request', {});
      const reply = new Promise<void>((resolve) => this.replies.set(msgId, () => resolve()));
      await this.sockets.shell.send(frames);
      await Promise.race([reply.then(() => (answered = true)), sleep(250)]);
      this.replies.delete(msgId);
      if (answered && this.iopubSeen) return;
      if (answered) await sleep(20);
    }
    if (!this.closed) {
      this.running.kill(`the kernel did not answer within ${START_TIMEOUT_MS / 1000} s`);
    }
    await this.died;
  }

  private async heartbeat(address: string): Promise<void> {
    let misses = 0;
    while (!this.closed) {
      await sleep(HEARTBEAT_EVERY_MS);
      if (this.closed) return;
      const hb = new this.sockets.zmq.Request({ linger: 0, receiveTimeout: HEARTBEAT_EVERY_MS });
      try {
        hb.connect(address);
        await hb.send('ping');
        await hb.receive();
        misses = 0;
      } catch {
        misses++;
        if (misses >= HEARTBEAT_MISSES && !this.closed) this.running.kill(`the kernel stopped answering its heartbeat for ${(HEARTBEAT_MISSES * HEARTBEAT_EVERY_MS) / 1000} s`);
      } finally {
        hb.close();
      }
    }
  }

  private async readLoop(socket: Zmq.Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const message = this.wire.parse(frames);
        const parent = message?.parent_header.msg_id;
        if (message && parent) this.replies.get(parent)?.(message);
      }
    } catch {
      // Socket closed.
    }
  }

  private async iopubLoop(): Promise<void> {
    try {
      for await (const frames of this.sockets.iopub) {
        // Until the handshake has seen iopub, any message will do; after, only the running cell's.
        const message = this.wire.parse(frames, (header, parent, contentBytes) => {
          if (this.iopubSeen && !(this.cell !== null && parent.msg_id === this.cell.msgId && IOPUB_HANDLED.has(header.msg_type))) return false;
          return header.msg_type === 'stream' && contentBytes > STREAM_IN_CHUNKS_OVER ? 'raw' : true;
        });
        if (!message) continue;
        this.iopubSeen = true;
        const cell = this.cell;
        if (cell && message.parent_header.msg_id === cell.msgId) {
          // (A failure here must not end the loop: the cell would then never see its idle status.)
          if (message.contentFrame) await this.streamInChunks(cell, message.contentFrame).catch(() => undefined);
          else this.onIopub(cell, message);
        }
      }
    } catch {
      // Socket closed.
    }
  }

  /**
   * A big stream message (one `print` of many MB), decoded from its frame a chunk at a time: the
   * server holds the frame and one chunk instead of four copies of the text. Each chunk waits for
   * the capture's disk spill, so the whole message is kept; iopub waits for this one message only.
   */
  private async streamInChunks(cell: RunningCell, frame: Buffer): Promise<void> {
    const at = locateStreamText(frame);
    if (!at) return; // Not a stream object: malformed, dropped like any unparsable message.
    const name = at.name === 'stderr' ? 'stderr' : 'stdout';
    for (const chunk of decodeJsonString(frame, at.start, at.end)) await cell.events.stream(name, chunk);
  }

  private onIopub(cell: RunningCell, message: JupyterMessage): void {
    const c = message.content;
    switch (message.header.msg_type) {
      case 'stream':
        // iopub is read at full speed even while the capture's disk spill is behind: pausing it
        // would pile the output up in the kernel's PUB queue, inside the kernel's memory limit,
        // until the kernel died of it. The spill keeps what it can and counts the rest instead.
        void cell.events.stream(c.name === 'stderr' ? 'stderr' : 'stdout', Buffer.from(typeof c.text === 'string' ? c.text : ''));
        break;
      case 'execute_result':
        cell.result = (c.data as MimeBundle | undefined) ?? null;
        break;
      case 'display_data':
      case 'update_display_data':
        cell.events.display((c.data as MimeBundle | undefined) ?? {});
        break;
      case 'error':
        cell.error = {
          name: String(c.ename ?? 'Error'),
          message: String(c.evalue ?? ''),
          traceback: Array.isArray(c.traceback) ? c.traceback.map(String).join('\n') : null,
        };
        break;
      case 'clear_output':
        cell.events.clear();
        break;
      case 'status':
        if (c.execution_state === 'idle') {
          cell.idle = true;
          this.tryFinish(cell);
        }
        break;
      default:
        break;
    }
  }

  private tryFinish(cell: RunningCell): void {
    if (!cell.idle || !cell.reply || this.cell !== cell) return;
    this.cell = null;
    this.replies.delete(cell.msgId);
    cell.resolve({ status: cell.reply.status, result: cell.result, error: cell.error, executionCount: cell.reply.executionCount });
  }

  execute(code: string, events: CellEvents): Promise<CellReply> {
    if (this.cell) return Promise.reject(new Error('a cell is already running'));
    if (this.closed) return this.died.then((death) => Promise.reject(new InterpreterDied(death)));
    // stop_on_error false: Hangar queues cells itself and sends one at a time, so there is never a
    // queued cell for the kernel to abort after an error; with true, ipykernel aborts whatever
    // arrives in the moment after an error (an interrupt too), and the next cell races that window.
    const { msgId, frames } = this.wire.request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    return new Promise<CellReply>((resolve, reject) => {
      const cell: RunningCell = { msgId, events, idle: false, reply: null, result: null, error: null, resolve, reject };
      this.cell = cell;
      this.replies.set(msgId, (message) => {
        if (message.header.msg_type !== 'execute_reply') return;
        const c = message.content;
        cell.reply = { status: c.status === 'ok' ? 'ok' : 'error', executionCount: typeof c.execution_count === 'number' ? c.execution_count : null };
        if (c.status !== 'ok' && !cell.error) cell.error = { name: String(c.ename ?? 'Aborted'), message: String(c.evalue ?? 'the kernel aborted the cell'), traceback: null };
        this.tryFinish(cell);
      });
      this.sockets.shell.send(frames).catch((error: unknown) => {
        if (this.cell === cell) this.cell = null;
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  endIfForkRefused(): string | null {
    return this.running.endIfForkRefused();
  }

  async interrupt(): Promise<void> {
    if (this.spec.interruptMode === 'message') {
      await this.sockets.control.send(this.wire.request('interrupt_request', {}).frames);
    } else {
      this.process.signal('SIGINT');
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of [this.sockets.shell, this.sockets.control, this.sockets.iopub]) socket.close();
  }

  async stop(reason: string): Promise<void> {
    this.running.kill(reason);
    await this.died;
    this.close();
  }
}
