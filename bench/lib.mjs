// Shared helpers for `npm run bench`: statistics, temp dirs, MCP stdio sessions, /proc readers.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** HANGAR_BENCH_CLI points at another build (e.g. a copy of dist/ from before a change) for A/B runs. */
export const CLI = process.env.HANGAR_BENCH_CLI ? path.resolve(process.env.HANGAR_BENCH_CLI) : path.join(ROOT, 'dist/cli.js');
/** Interpreters by absolute path: the pyenv shim on PATH would add its own start-up to every run. */
export const PYTHON = '/usr/bin/python3';
export const NODE = process.execPath;
/** A PATH without shims, for every server we start. */
export const CLEAN_PATH = '/usr/local/bin:/usr/bin:/bin';

export async function tempDir(prefix) {
  return mkdtemp(path.join(os.tmpdir(), `hangar-bench-${prefix}-`));
}

export async function removeDir(dir) {
  await rm(dir, { recursive: true, force: true });
}

export function stats(samples) {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Starts a process speaking MCP on stdio and connects the official client to it. */
export async function connectStdio({ command, args, env, cwd, name = 'hangar-bench' }) {
  const transport = new StdioClientTransport({ command, args, env, cwd, stderr: 'pipe' });
  // Drain stderr so a chatty server never blocks on a full pipe.
  transport.stderr?.on('data', () => undefined);
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    transport,
    pid: transport.pid,
    close: () => client.close().catch(() => undefined),
  };
}

/** The built CLI over stdio, as `npm start` runs it, on its own data dir. */
export function hangarServeArgs(dataDir, extra = [], cli = CLI) {
  return { command: NODE, args: [cli, 'serve', '--data-dir', dataDir, '--log-level', 'warn', ...extra], env: { PATH: CLEAN_PATH } };
}

export function textOf(result) {
  return (result.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('\n');
}

/** Spawns a program and resolves when it has exited (stdout/stderr drained), failing on a bad exit. */
export function runToExit(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', () => undefined);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}`))));
  });
}

/** VmRSS and VmHWM of a process, in bytes. */
export async function memoryOf(pid) {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU time (user + system) a process has used so far, in ms (clock ticks of 10 ms). */
export async function cpuMsOf(pid) {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

export const MiB = 1048576;

/**
 * Rows for the combined table of `npm run bench`: a standalone scenario script (sandbox.mjs,
 * envs.mjs, ...) run by run.mjs appends them as JSON lines to the file in BENCH_ROWS. Fields as in
 * run.mjs: id, title, n, p50, p99, mean, measured, unit, target, pass, note.
 */
export async function emitRows(rows) {
  const file = process.env.BENCH_ROWS;
  if (!file) return;
  const { appendFile } = await import('node:fs/promises');
  await appendFile(file, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
}
