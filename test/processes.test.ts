import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startStdio, tempDir, CLI, type StdioSession } from './helpers/cli.js';

type Out = { output: string; offset: number; next_offset: number; running: boolean; exit_code: number | null; rotated_bytes: number; total_bytes: number };

async function call<T>(s: StdioSession, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await s.client.callTool({ name, arguments: args });
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
    const script = "trap '' TERM; (trap '' TERM; setsid sh -c \"trap '' TERM; echo grandchild \\$\\$; sleep 300\" & sleep 300) & echo started; sleep 300";
    const proc = await call<{ process_id: string; pid: number }>(s, 'spawn_process', { command: script });
    let grandchild = 0;
    await until(async () => {
      const m = /grandchild (\d+)/.exec((await call<Out>(s, 'process_output', { process_id: proc.process_id })).output);
      grandchild = Number(m?.[1] ?? 0);
      return grandchild > 0;
    });
    const started = Date.now();
    const killed = await call<{ running: boolean; signal: string | null }>(s, 'kill_process', { process_id: proc.process_id, grace_s: 0.5 });
    expect(killed.running).toBe(false);
    expect(killed.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(async () => !alive(proc.pid) && !alive(grandchild), 3000);
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
