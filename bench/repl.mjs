// repl_execute `x += 1`: builtin python driver and ipykernel, through Hangar (MCP over stdio) vs raw
// (the driver alone over its pipes; ipykernel through a minimal ZMQ client, with ipykernel's defaults
// and with the settings Hangar starts kernels with). All subjects are started first, then take turns
// in ROUNDS rounds of N/ROUNDS calls each, so load from other processes hits every row alike.
// Warm-up: a Hangar server spends its first ~3000 calls with V8's optimizing compiler busy on its
// worker threads (≈ 0.2 ms of CPU per call, BENCHMARKS.md), which on 2 cores competes with the
// client and the kernel. Hangar rows are measured after WARMUP_SERVER calls (steady state, what a
// long-running server costs per call); the p50 of each one's first 300 calls is kept in its note.
// Run: npm run build && node bench/repl.mjs
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import * as zmq from 'zeromq';
import { emitRows } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const N = Number(process.env.BENCH_N ?? 300);
const WARMUP = Number(process.env.WARMUP ?? 30);
const WARMUP_SERVER = Number(process.env.WARMUP_SERVER ?? 3000);
const EARLY = 300;
const ROUNDS = Number(process.env.ROUNDS ?? 10);
/** What Hangar writes to a kernel's private IPYTHONDIR (kernel-interpreter.ts, IPYTHON_KERNEL_CONFIG). */
const HANGAR_KERNEL_CONFIG = { HistoryManager: { enabled: false }, Kernel: { _execute_sleep: 0 } };

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, p50: +at(0.5).toFixed(3), p99: +at(0.99).toFixed(3), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/**
 * Each subject: { call(), close(), server? }. Warms each up (servers longer), then rounds interleave
 * them; returns stats per subject, a server's with the p50 of its first EARLY calls as `early`. The
 * caller closes the subjects.
 */
async function interleave(subjects) {
  const early = {};
  for (const [name, subject] of Object.entries(subjects)) {
    const first = [];
    for (let i = 0; i < (subject.server ? WARMUP_SERVER : WARMUP); i++) {
      const t = performance.now();
      await subject.call();
      if (i < EARLY) first.push(performance.now() - t);
    }
    if (subject.server && first.length > 0) early[name] = stats(first).p50;
  }
  const samples = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  const perRound = Math.max(1, Math.round(N / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, subject] of Object.entries(subjects)) {
      for (let i = 0; i < perRound; i++) {
        const t = performance.now();
        await subject.call();
        samples[name].push(performance.now() - t);
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, { ...stats(xs), ...(early[name] === undefined ? {} : { early: early[name] }) }]));
}

async function rawDriver() {
  const child = spawn(PYTHON, ['-u', '-B', path.join(ROOT, 'src/drivers/python_driver.py')], { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', HANGAR_DRIVER_MARK: 'M' } });
  let buf = Buffer.alloc(0);
  let waiter = null;
  child.stdio[4].on('data', (c) => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const len = Number(buf.subarray(0, nl).toString());
      if (buf.length < nl + 1 + len) return;
      const msg = JSON.parse(buf.subarray(nl + 1, nl + 1 + len).toString());
      buf = buf.subarray(nl + 1 + len);
      if (msg.type === 'ready' || msg.type === 'done') waiter?.(msg);
    }
  });
  child.stdout.resume();
  child.stderr.resume();
  await new Promise((r) => (waiter = r));
  const run = (code) =>
    new Promise((r) => {
      waiter = r;
      const body = Buffer.from(JSON.stringify({ op: 'execute', id: 1, code }));
      child.stdio[3].write(Buffer.concat([Buffer.from(`${body.length}\n`), body]));
    });
  await run('x = 0');
  return { call: () => run('x += 1'), close: async () => child.kill('SIGKILL') };
}

async function rawKernel(config) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-k-'));
  mkdirSync(path.join(dir, 'ipy', 'profile_default'), { recursive: true });
  if (config) writeFileSync(path.join(dir, 'ipy', 'profile_default', 'ipython_kernel_config.json'), JSON.stringify(config));
  const key = randomBytes(16).toString('hex');
  const ip = path.join(dir, 'k');
  writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, ip, key, transport: 'ipc', signature_scheme: 'hmac-sha256' }));
  const child = spawn(PYTHON, ['-m', 'ipykernel_launcher', '-f', path.join(dir, 'c.json')], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', HOME: dir, IPYTHONDIR: path.join(dir, 'ipy') } });
  const session = randomUUID();
  const msg = (type, content) => {
    const id = randomUUID();
    const parts = [{ msg_id: id, msg_type: type, session, username: 'b', date: new Date().toISOString(), version: '5.3' }, {}, {}, content].map((p) => JSON.stringify(p));
    const h = createHmac('sha256', key);
    parts.forEach((p) => h.update(p));
    return { id, frames: ['<IDS|MSG>', h.digest('hex'), ...parts] };
  };
  const shell = new zmq.Dealer({ linger: 0 });
  const iopub = new zmq.Subscriber({ linger: 0 });
  shell.connect(`ipc://${ip}-1`);
  iopub.connect(`ipc://${ip}-2`);
  iopub.subscribe();
  const parent = (frames) => {
    const at = frames.findIndex((f) => f.toString() === '<IDS|MSG>');
    return { header: JSON.parse(frames[at + 2].toString()), parent: JSON.parse(frames[at + 3].toString()), content: JSON.parse(frames[at + 5].toString()) };
  };
  let pending = null;
  (async () => {
    for await (const frames of iopub) {
      const m = parent(frames);
      if (pending && m.parent.msg_id === pending.id && m.header.msg_type === 'status' && m.content.execution_state === 'idle') pending.idle();
    }
  })().catch(() => undefined);
  (async () => {
    for await (const frames of shell) {
      const m = parent(frames);
      if (pending && m.parent.msg_id === pending.id) pending.reply();
    }
  })().catch(() => undefined);
  const request = (type, content) => {
    const { id, frames } = msg(type, content);
    let replied, idled;
    const done = Promise.all([new Promise((r) => (replied = r)), new Promise((r) => (idled = r))]);
    pending = { id, reply: replied, idle: idled };
    void shell.send(frames);
    return done;
  };
  for (;;) {
    const ok = await Promise.race([request('kernel_info_request', {}).then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);
    if (ok) break;
  }
  const exec = (code) => request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
  await exec('x = 0');
  return {
    call: () => exec('x += 1'),
    close: async () => {
      child.kill('SIGKILL');
      shell.close();
      iopub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const CLI = path.join(ROOT, 'dist/cli.js');
// BENCH_BASE_CLI: another build (e.g. a copy of main's dist/ under bench/results/) whose Hangar rows
// run in the same rounds, for an A/B of a change; its rows come last and have no target.
const BASE_CLI = process.env.BENCH_BASE_CLI;

const kib = (pid, file, key) => {
  try {
    return Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const parentOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

/**
 * What a session costs in memory (DESIGN.md section 9: a builtin Python session ≤ 15 MiB): the
 * interpreter and every process between it and the server (bubblewrap's two at level isolated),
 * RSS and PSS (shared pages split among their users), in MiB.
 */
function sessionMemory(serverPid, interpreterPid) {
  const chain = [];
  for (let pid = interpreterPid; pid > 1 && pid !== serverPid && chain.length < 8; pid = parentOf(pid)) chain.push(pid);
  const sum = (file, key) => chain.reduce((total, pid) => total + kib(pid, file, key), 0) / 1024;
  return { processes: chain.length, interpreterRss: kib(interpreterPid, 'status', 'VmRSS') / 1024, rss: sum('status', 'VmRSS'), pss: sum('smaps_rollup', 'Pss') };
}

async function throughHangar(createArgs, cli = CLI) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-h-'));
  const transport = new StdioClientTransport({ command: process.execPath, args: [cli, 'serve', '--data-dir', dataDir, '--log-level', 'warn'], env: { PATH: '/usr/bin:/bin' }, stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const created = await client.callTool({ name: 'repl_create', arguments: createArgs });
  const id = created.structuredContent.session_id;
  await client.callTool({ name: 'repl_execute', arguments: { session_id: id, code: 'x = 0' } });
  return {
    server: true,
    /** The memory of this subject's session (after every call so far), and of a new one after 20 cells. */
    async memory() {
      const pidOf = async (sessionId) => (await client.callTool({ name: 'repl_list', arguments: {} })).structuredContent.sessions.find((s) => s.session_id === sessionId)?.pid;
      const long = sessionMemory(transport.pid, await pidOf(id));
      const fresh = (await client.callTool({ name: 'repl_create', arguments: createArgs })).structuredContent.session_id;
      for (let i = 0; i < 20; i++) await client.callTool({ name: 'repl_execute', arguments: { session_id: fresh, code: `v${i} = ${i}` } });
      const young = sessionMemory(transport.pid, await pidOf(fresh));
      await client.callTool({ name: 'repl_destroy', arguments: { session_id: fresh } });
      return { young, long };
    },
    call: () => client.callTool({ name: 'repl_execute', arguments: { session_id: id, code: 'x += 1' } }),
    close: async () => {
      await client.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const subjects = {
  'builtin python, raw driver over its pipes': await rawDriver(),
  'builtin python, repl_execute through Hangar (MCP stdio)': await throughHangar({}),
  'builtin python, through Hangar, sandbox process': await throughHangar({ sandbox: 'process' }),
  'ipykernel, minimal ZMQ client (ipykernel defaults)': await rawKernel(null),
  'ipykernel, repl_execute through Hangar (MCP stdio)': await throughHangar({ kernel: 'python3' }),
  'ipykernel, through Hangar, sandbox process': await throughHangar({ kernel: 'python3', sandbox: 'process' }),
  "ipykernel, minimal ZMQ client (Hangar's kernel settings)": await rawKernel(HANGAR_KERNEL_CONFIG),
  ...(BASE_CLI
    ? {
        'builtin python, through Hangar, base build': await throughHangar({}, BASE_CLI),
        'ipykernel, through Hangar, base build': await throughHangar({ kernel: 'python3' }, BASE_CLI),
      }
    : {}),
};
const rows = await interleave(subjects);
const builtinIsolated = await subjects['builtin python, repl_execute through Hangar (MCP stdio)'].memory();
const builtinProcess = await subjects['builtin python, through Hangar, sandbox process'].memory();
for (const subject of Object.values(subjects)) await subject.close();
console.log(`repl_execute "x += 1", n=${N} (ms); Hangar rows at the default level (isolated where bubblewrap works) unless named`);
const earlyNote = (s) => (s.early === undefined ? '' : `first ${EARLY} calls after start (JIT warm-up): p50 ${s.early.toFixed(3)}`);
for (const [name, s] of Object.entries(rows)) console.log(`${name.padEnd(58)} p50 ${String(s.p50).padStart(7)}  p99 ${String(s.p99).padStart(7)}  ${earlyNote(s)}`);
const named = Object.entries(rows);
await emitRows(named.map(([title, { early: _, ...st }], i) => ({ id: `r${i + 1}`, title, ...st, note: earlyNote({ early: _ }) })));
const above = (i, j, limit) => {
  const a = named[i]?.[1];
  const b = named[j]?.[1];
  if (!a || !b) return [];
  const d = a.p50 - b.p50;
  return [{ id: `r${i + 1}−r${j + 1}`, title: `${named[i][0]} − ${named[j][0]} (p50)`, n: a.n, measured: d, unit: 'ms', target: `≤ ${limit} ms`, pass: d <= limit }];
};
// Targets: builtin driver ≤ 1 ms above the raw driver; ipykernel through Hangar ≤ 5 ms p50.
const kernel = named[4]?.[1];
const kernelRow = kernel ? [{ id: 'r5', title: `${named[4][0]} (p50)`, n: kernel.n, measured: kernel.p50, unit: 'ms', target: '≤ 5 ms', pass: kernel.p50 <= 5 }] : [];
const base = BASE_CLI ? [...above(1, 7, Infinity), ...above(4, 8, Infinity)].map((r) => ({ ...r, target: '—', pass: undefined })) : [];
const mib = (m) => `${m.rss.toFixed(1)} MiB RSS in ${m.processes} processes (interpreter ${m.interpreterRss.toFixed(1)}), PSS ${m.pss.toFixed(1)}`;
const cells = WARMUP_SERVER + N + WARMUP;
console.log(`builtin python session memory after 20 cells: isolated ${mib(builtinIsolated.young)}; sandbox process ${mib(builtinProcess.young)}`);
console.log(`  the bench's own sessions after ${cells} cells: isolated ${mib(builtinIsolated.long)}; sandbox process ${mib(builtinProcess.long)}`);
const memoryRow = {
  id: 'r-mem',
  title: 'a builtin python session after 20 cells: RSS of the interpreter and the sandbox processes above it (level isolated)',
  n: 1,
  measured: builtinIsolated.young.rss,
  unit: 'MiB',
  target: '≤ 15 MiB',
  pass: builtinIsolated.young.rss <= 15,
  note: `${mib(builtinIsolated.young)}; at level process ${mib(builtinProcess.young)}; after ${cells} cells ${mib(builtinIsolated.long)}`,
};
await emitRows([...above(1, 0, 1), ...above(2, 0, 1), ...kernelRow, memoryRow, ...base, ...above(4, 6, Infinity).map((r) => ({ ...r, target: '—', pass: undefined, title: `Hangar's own share of an ipykernel cell: ${r.title}` }))]);
