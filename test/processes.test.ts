import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { probeIsolation } from '../src/runtime/sandbox/bwrap.js';
import { startStdio, tempDir, CLI, type StdioSession } from './helpers/cli.js';
import { marker, procsWith, waitNoProcs } from './helpers/procs.js';

const isolation = await probeIsolation();
if (!isolation.available && process.env.CI === 'true') throw new Error(`CI=true but bubblewrap does not work: ${isolation.reason}`);
/** In the argv of every process a test spawns (an extra argument), so /proc finds whatever is left. */
const MARK = marker('hgproc');

type Out = { output: string; offset: number; next_offset: number; running: boolean; exit_code: number | null; rotated_bytes: number; total_bytes: number };

async function call<T>(s: StdioSession, name: string, args: Record<string, unknown>): Promise<T> {
  const withMark = name === 'spawn_process' ? { ...args, args: [...((args.args as string[] | undefined) ?? []), MARK] } : args;
  const result = await s.client.callTool({ name, arguments: withMark });
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as T;
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error('condition not met in time');
}

describe('background processes', () => {
  const sessions: StdioSession[] = [];
  afterAll(async () => {
    for (const s of sessions) await s.close();
  });
  afterEach(async () => {
    expect(await waitNoProcs(MARK, 5000)).toEqual([]);
  });

  it('reads a line every 100 ms with offsets, losing and repeating nothing', async () => {
    const s = await startStdio();
    sessions.push(s);
    const proc = await call<{ process_id: string; running: boolean }>(s, 'spawn_process', {
      command: ['/usr/bin/python3', '-u', '-c', 'import time\nfor i in range(30):\n    print(f"line {i}", flush=True); time.sleep(0.1)'],
    });
    expect(proc.running).toBe(true);
    let offset = 0;
    let text = '';
    for (;;) {
      const out = await call<Out>(s, 'process_output', { process_id: proc.process_id, offset });
      text += out.output;
      offset = out.next_offset;
      if (!out.running && out.next_offset >= out.total_bytes) {
        expect(out.exit_code).toBe(0);
        break;
      }
      await sleep(130);
    }
    expect(text).toBe(Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(''));
    const tail = await call<Out>(s, 'process_output', { process_id: proc.process_id, tail_lines: 3 });
    expect(tail.output).toBe('line 27\nline 28\nline 29\n');
  });

  it('runs a server on a loopback port that the test reaches, and kills it', async () => {
    const s = sessions[0]!;
    const proc = await call<{ process_id: string }>(s, 'spawn_process', {
      command: ['/usr/bin/python3', '-u', '-c', 'import socket\ns=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True)\nwhile True:\n    c,_=s.accept(); c.sendall(b"hello from hangar\\n"); c.close()'],
      network: 'on',
    });
    let port = 0;
    await until(async () => {
      port = Number((await call<Out>(s, 'process_output', { process_id: proc.process_id })).output.trim());
      return port > 0;
    });
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toBe('hello from hangar\n');
    const killed = await call<{ running: boolean }>(s, 'kill_process', { process_id: proc.process_id, grace_s: 2 });
    expect(killed.running).toBe(false);
  });

  it('kills a whole tree that ignores SIGTERM', async () => {
    const s = sessions[0]!;
    // Each one says it is ready once its handler is in place: a TERM before that would end it early.
    const ignoring = `/usr/bin/python3 -c "import os,signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); open('ready-%d' % os.getpid(), 'w').close(); time.sleep(300)" ${MARK}`;
    const script = `trap '' TERM; (trap '' TERM; setsid ${ignoring} & echo grandchild; ${ignoring}) & echo started; ${ignoring}`;
    const workspace = path.join(s.dataDir, 'envs', 'default', 'workspace');
    const proc = await call<{ process_id: string; pid: number }>(s, 'spawn_process', { command: script });
    await until(async () => (await readdir(workspace)).filter((f) => f.startsWith('ready-')).length >= 3);
    const started = Date.now();
    const killed = await call<{ running: boolean; signal: string | null; reason: string | null }>(s, 'kill_process', { process_id: proc.process_id, grace_s: 0.5 });
    expect(killed.running).toBe(false);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.reason).toBe('killed by kill_process (TERM)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('gives the program a graceful TERM before the grace ends', async () => {
    const s = sessions[0]!;
    const proc = await call<{ process_id: string }>(s, 'spawn_process', {
      command: ['/usr/bin/python3', '-u', '-c', 'import signal,sys,time\ndef bye(*_):\n    print("got TERM", flush=True); sys.exit(0)\nsignal.signal(signal.SIGTERM, bye)\nprint("ready", flush=True)\ntime.sleep(300)'],
    });
    await until(async () => (await call<Out>(s, 'process_output', { process_id: proc.process_id })).output.includes('ready'));
    const killed = await call<{ running: boolean; exit_code: number | null; signal: string | null }>(s, 'kill_process', { process_id: proc.process_id, grace_s: 5 });
    expect(killed).toMatchObject({ running: false, exit_code: 0, signal: null });
    expect((await call<Out>(s, 'process_output', { process_id: proc.process_id })).output).toContain('got TERM');
  });

  it('rotates the log at its cap and says how much was dropped', async () => {
    const s = await startStdio({ args: ['--process-log-max-mb', '0.05'] });
    sessions.push(s);
    const proc = await call<{ process_id: string }>(s, 'spawn_process', {
      command: ['/usr/bin/python3', '-c', 'import sys\nfor i in range(20000): sys.stdout.write(f"{i:08d}\\n")'],
    });
    let out: Out;
    do {
      await sleep(100);
      out = await call<Out>(s, 'process_output', { process_id: proc.process_id, offset: 0 });
    } while (out.running);
    out = await call<Out>(s, 'process_output', { process_id: proc.process_id, offset: 0 });
    expect(out.total_bytes).toBe(20000 * 9);
    expect(out.rotated_bytes).toBeGreaterThan(0);
    expect(out.rotated_bytes % 9).toBe(out.offset % 9);
    const firstLine = Number(out.output.slice(0, out.output.indexOf('\n')));
    // The kept part starts where rotation stopped and runs on without gaps.
    let text = '';
    let offset = out.offset;
    for (;;) {
      const chunk = await call<Out>(s, 'process_output', { process_id: proc.process_id, offset });
      text += chunk.output;
      if (chunk.next_offset >= chunk.total_bytes) break;
      offset = chunk.next_offset;
    }
    const lines = text.trim().split('\n').map(Number);
    expect(lines[0]).toBe(firstLine);
    expect(lines.at(-1)).toBe(19999);
    expect(lines.length).toBe(20000 - firstLine);
    const tail = await call<Out>(s, 'process_output', { process_id: proc.process_id, tail_lines: 2 });
    expect(tail.output).toBe('00019998\n00019999\n');
    const { content } = await s.client.callTool({ name: 'process_output', arguments: { process_id: proc.process_id, offset: 0 } });
    expect(JSON.stringify(content)).toContain('rotated away');
    const files = (await readdir(`${s.dataDir}/processes/${proc.process_id}`)).filter((f) => f.startsWith('output.log.'));
    expect(files.length).toBeLessThanOrEqual(2);
  });

  it('survives kill -9 of the server: a new server lists it running, reads new output, kills it', async () => {
    const dataDir = await tempDir();
    const first = await startStdio({ dataDir });
    const proc = await call<{ process_id: string; pid: number }>(first, 'spawn_process', {
      command: ['/usr/bin/python3', '-u', '-c', 'import time\ni=0\nwhile True:\n    print(f"tick {i}", flush=True); i+=1; time.sleep(0.05)'],
    });
    await sleep(300);
    const before = await call<Out>(first, 'process_output', { process_id: proc.process_id, tail_lines: 1 });
    process.kill(first.pid!, 'SIGKILL');
    await first.close();
    await sleep(300);
    const second = await startStdio({ dataDir });
    sessions.push(second);
    try {
      const list = await call<{ processes: { process_id: string; running: boolean }[] }>(second, 'list_processes', {});
      expect(list.processes.find((p) => p.process_id === proc.process_id)?.running).toBe(true);
      const after = await call<Out>(second, 'process_output', { process_id: proc.process_id, offset: before.next_offset });
      expect(after.output).toMatch(/^tick \d+\n/);
      expect(after.next_offset).toBeGreaterThan(before.next_offset);
      const killed = await call<{ running: boolean }>(second, 'kill_process', { process_id: proc.process_id, grace_s: 1 });
      expect(killed.running).toBe(false);
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('reports the exit status of a process that ended while no server ran', async () => {
    const dataDir = await tempDir();
    const first = await startStdio({ dataDir });
    const proc = await call<{ process_id: string }>(first, 'spawn_process', { command: 'sleep 0.5; exit 3' });
    process.kill(first.pid!, 'SIGKILL');
    await first.close();
    await sleep(1000);
    const second = await startStdio({ dataDir });
    try {
      const list = await call<{ processes: { process_id: string; running: boolean; exit_code: number | null }[] }>(second, 'list_processes', {});
      const found = list.processes.find((p) => p.process_id === proc.process_id);
      expect(found?.running).toBe(false);
      expect(found?.exit_code).toBe(3);
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('ends processes on exit with --kill-processes-on-exit', async () => {
    const dataDir = await tempDir();
    const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--kill-processes-on-exit', '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'inherit'] });
    // Minimal raw JSON-RPC over stdio: initialize, then spawn_process.
    const send = (msg: unknown): boolean => child.stdin.write(`${JSON.stringify(msg)}\n`);
    let buffer = '';
    const replies: Record<number, unknown> = {};
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, nl)) as { id?: number };
        buffer = buffer.slice(nl + 1);
        if (msg.id !== undefined) replies[msg.id] = msg;
      }
    });
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    await until(async () => replies[1] !== undefined);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'spawn_process', arguments: { command: 'sleep 300' } } });
    await until(async () => replies[2] !== undefined);
    const pid = (replies[2] as { result: { structuredContent: { pid: number } } }).result.structuredContent.pid;
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
    expect(() => process.kill(pid, 0)).toThrow();
    await rm(dataDir, { recursive: true, force: true });
  });
});

type View = {
  process_id: string;
  running: boolean;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  sandbox: { level: string; network: string; limits: Record<string, number | null>; enforcement: string } | null;
};

/** Waits until the process has ended and returns its final view. */
async function ended(s: StdioSession, id: string, ms = 20_000): Promise<View> {
  let view: View | undefined;
  await until(async () => {
    view = (await call<{ processes: View[] }>(s, 'list_processes', {})).processes.find((p) => p.process_id === id);
    return view?.running === false;
  }, ms);
  return view!;
}

describe.skipIf(!isolation.available)('background processes in the isolated sandbox', () => {
  let s: StdioSession;
  let server: Server;
  let port = 0;
  afterAll(async () => {
    await s?.close();
    server?.close();
  });
  afterEach(async () => {
    expect(await waitNoProcs(MARK, 5000)).toEqual([]);
  });

  it('starts at level isolated by default, network off, no lifetime limit, operator limits', async () => {
    s = await startStdio();
    server = createServer((socket) => socket.end('hello from the test\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    const proc = await call<View>(s, 'spawn_process', { command: 'exit 0' });
    expect(proc.sandbox).toEqual({
      level: 'isolated',
      network: 'off',
      limits: { timeout_s: null, memory_mb: 1024, cpu_s: null, max_processes: 256, max_file_mb: 1024 },
      enforcement: 'cgroup',
    });
    await ended(s, proc.process_id);
  });

  const connect = (p: number): string[] => [
    '/usr/bin/python3',
    '-c',
    `import socket\ntry:\n    print(socket.create_connection(("127.0.0.1", ${p}), timeout=3).recv(100).decode().strip())\nexcept OSError as e:\n    print("unreachable", type(e).__name__)`,
  ];

  it('cannot reach a TCP server on 127.0.0.1 with network off', async () => {
    const proc = await call<View>(s, 'spawn_process', { command: connect(port) });
    expect((await ended(s, proc.process_id)).exit_code).toBe(0);
    expect((await call<Out>(s, 'process_output', { process_id: proc.process_id })).output).toMatch(/^unreachable /);
  });

  it('reaches it with network "on"', async () => {
    const proc = await call<View>(s, 'spawn_process', { command: connect(port), network: 'on' });
    expect(proc.sandbox?.network).toBe('on');
    await ended(s, proc.process_id);
    expect((await call<Out>(s, 'process_output', { process_id: proc.process_id })).output).toBe('hello from the test\n');
  });

  it('sees the workspace at /workspace (cwd may be a subdirectory), writes files the host sees, private /tmp', async () => {
    await call(s, 'workspace_write_file', { filename: 'sub/keep.txt', content: 'x' });
    const proc = await call<View>(s, 'spawn_process', {
      command: `pwd; echo "$HOME $TMPDIR"; echo made > made.txt; echo private > /tmp/${MARK} && cat /tmp/${MARK}`,
      cwd: 'sub',
    });
    expect((await ended(s, proc.process_id)).exit_code).toBe(0);
    expect((await call<Out>(s, 'process_output', { process_id: proc.process_id })).output).toBe('/workspace/sub\n/workspace /tmp\nprivate\n');
    expect(existsSync(`/tmp/${MARK}`)).toBe(false);
    const file = await call<{ content: string }>(s, 'workspace_read_file', { filename: 'sub/made.txt' });
    expect(file.content).toContain('made');
  });

  it('an env value passed to the process is in its environment, never on a command line any host user can read', async () => {
    const secret = `s3cret-${MARK}`;
    const proc = await call<View>(s, 'spawn_process', { command: 'echo "$API_TOKEN"; exec sleep 30', env: { API_TOKEN: secret } });
    await until(async () => (await call<Out>(s, 'process_output', { process_id: proc.process_id })).output.includes(secret));
    // bubblewrap reads its --setenv options from a pipe (--args): before, `ps` showed them.
    expect(await procsWith(secret)).toEqual([]);
    expect((await procsWith(MARK)).some((p) => p.cmdline.includes('--args 9'))).toBe(true);
    await call(s, 'kill_process', { process_id: proc.process_id });
    await ended(s, proc.process_id);
  });

  it("has the environment's python first on PATH, and the environment read-only", async () => {
    const proc = await call<View>(s, 'spawn_process', {
      command: 'command -v python; echo "$VIRTUAL_ENV"; touch "$VIRTUAL_ENV/written" 2>&1 || echo refused',
    });
    await ended(s, proc.process_id);
    const [python, venv, ...rest] = (await call<Out>(s, 'process_output', { process_id: proc.process_id })).output.trim().split('\n');
    expect(venv).toMatch(/\/venv$/);
    expect(python).toBe(`${venv}/bin/python`);
    expect(rest.join('\n')).toMatch(/Read-only file system[\s\S]*refused/);
  });

  it('ends a process over memory_mb and says why in list_processes and process_output', async () => {
    const proc = await call<View>(s, 'spawn_process', {
      command: ['/usr/bin/python3', '-c', 'import time\nblocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1048576)); time.sleep(0.01)'],
      memory_mb: 64,
    });
    expect(proc.sandbox?.limits.memory_mb).toBe(64);
    const view = await ended(s, proc.process_id);
    expect(view).toMatchObject({ exit_code: null, signal: 'SIGKILL', reason: 'memory limit 64 MB exceeded' });
    const out = await call<Out & { reason: string | null }>(s, 'process_output', { process_id: proc.process_id });
    expect(out.reason).toBe('memory limit 64 MB exceeded');
    const { content } = await s.client.callTool({ name: 'list_processes', arguments: {} });
    expect(JSON.stringify(content)).toContain('memory limit 64 MB exceeded');
  });

  it('reports exit code 200 as an exit code, and a SIGKILL death as a signal', async () => {
    const exit = await call<View>(s, 'spawn_process', { command: 'exit 200' });
    expect(await ended(s, exit.process_id)).toMatchObject({ exit_code: 200, signal: null, reason: null });
    const killed = await call<View>(s, 'spawn_process', { command: 'kill -KILL $$' });
    expect(await ended(s, killed.process_id)).toMatchObject({ exit_code: null, signal: 'SIGKILL', reason: null });
    // The same at level process, where the supervisor's shell is the program's grandparent.
    const plain = await call<View>(s, 'spawn_process', { command: 'exit 200', sandbox: 'process' });
    expect(plain.sandbox?.level).toBe('process');
    expect(await ended(s, plain.process_id)).toMatchObject({ exit_code: 200, signal: null });
    const plainKilled = await call<View>(s, 'spawn_process', { command: 'kill -KILL $$', sandbox: 'process' });
    expect(await ended(s, plainKilled.process_id)).toMatchObject({ exit_code: null, signal: 'SIGKILL' });
  });

  it('refuses network "on" when the operator denies it, and a lifetime above the operator maximum', async () => {
    const strict = await startStdio({ args: ['--deny-network', '--max-process-lifetime', '30'] });
    try {
      const net = await strict.client.callTool({ name: 'spawn_process', arguments: { command: 'true', network: 'on' } });
      expect((net.content as { text: string }[])[0]?.text).toMatch(/^POLICY_DENIED: network "on" is denied/);
      const long = await strict.client.callTool({ name: 'spawn_process', arguments: { command: 'true', timeout_s: 60 } });
      expect((long.content as { text: string }[])[0]?.text).toMatch(/^POLICY_DENIED: timeout_s 60 s is above .* at most 30 s/);
      const proc = await call<View>(strict, 'spawn_process', { command: 'exit 0' });
      expect(proc.sandbox?.limits.timeout_s).toBe(30);
      await ended(strict, proc.process_id);
    } finally {
      await strict.close();
    }
  });

  it('kill -9 of the server: a new server re-attaches to the sandboxed tree and kills all of it', async () => {
    const dataDir = await tempDir();
    const first = await startStdio({ dataDir });
    const child = `/usr/bin/python3 -c "import time; time.sleep(300)" ${MARK}`;
    const proc = await call<View>(first, 'spawn_process', { command: `${child} & ${child} & while :; do echo tick; sleep 0.05; done` });
    expect(proc.sandbox?.level).toBe('isolated');
    await until(async () => (await procsWith(`time.sleep(300)" ${MARK}`)).length >= 2);
    process.kill(first.pid!, 'SIGKILL');
    await first.close();
    const second = await startStdio({ dataDir });
    try {
      const list = await call<{ processes: View[] }>(second, 'list_processes', {});
      expect(list.processes.find((p) => p.process_id === proc.process_id)?.running).toBe(true);
      const killed = await call<View>(second, 'kill_process', { process_id: proc.process_id, grace_s: 1 });
      expect(killed.running).toBe(false);
      expect(await waitNoProcs(MARK, 3000)).toEqual([]);
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
