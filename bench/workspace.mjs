// Workspace and process benchmarks (issue 6), against baselines in the same run:
//  1. write + read of a 1 MB file through MCP (stdio, official client) vs the same bytes through fs;
//  2. process_output of the last 100 lines of a 100 MB log vs a 1 MB log (target: <= 10 ms, independent of size).
// Usage: npm run build && node bench/workspace.mjs
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { emitRows, stats as fullStats } from './lib.mjs';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');
const ROUNDS = Number(process.env.ROUNDS ?? 30);

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: +at(0.5).toFixed(3), p99: +at(0.99).toFixed(3), n: s.length };
};

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hangar-bench-'));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [CLI, 'serve', '--data-dir', dataDir, '--log-level', 'warn', '--process-log-max-mb', '256'],
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
});
const client = new Client({ name: 'bench', version: '1' });
await client.connect(transport);
const call = async (name, args) => {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(JSON.stringify(r.content));
  return r.structuredContent;
};

try {
  const { path: ws } = await call('workspace_create', {});
  // 1 MB of text lines.
  const line = 'x'.repeat(99) + '\n';
  const mb = line.repeat(10486).slice(0, 1048576);
  const mcp = [];
  const fsTimes = [];
  for (let i = 0; i < ROUNDS; i++) {
    mcp.push(
      await time(async () => {
        await call('workspace_write_file', { filename: 'bench/one-mb.txt', content: mb });
        await call('workspace_read_file', { filename: 'bench/one-mb.txt', limit: 100000 });
      }),
    );
    fsTimes.push(
      await time(async () => {
        await writeFile(path.join(ws, 'bench/fs-one-mb.txt'), mb);
        await readFile(path.join(ws, 'bench/fs-one-mb.txt'), 'utf8');
      }),
    );
  }
  const m = stats(mcp);
  const f = stats(fsTimes);
  console.log(JSON.stringify({ bench: 'write+read 1 MB', mcp_ms: m, fs_ms: f, ratio_p50: +(m.p50 / f.p50).toFixed(1) }));
  await emitRows([
    { id: 'w-mcp', title: 'workspace_write_file + read_file 1 MB over MCP', ...fullStats(mcp), note: `${(m.p50 / f.p50).toFixed(1)}× the fs baseline` },
    { id: 'w-fs', title: 'baseline: the same bytes through fs', ...fullStats(fsTimes) },
  ]);

  // Logs of 1 MB and 100 MB, written by real background processes.
  for (const sizeMb of [1, 100]) {
    const proc = await call('spawn_process', {
      command: ['/usr/bin/python3', '-c', `import sys\nline = "y" * 99 + "\\n"\nblock = line * 10000\nfor _ in range(${sizeMb * 1048576} // len(block) + 1): sys.stdout.write(block)`],
    });
    let out;
    do {
      await new Promise((r) => setTimeout(r, 200));
      out = await call('process_output', { process_id: proc.process_id, tail_lines: 1 });
    } while (out.running);
    const tails = [];
    for (let i = 0; i < ROUNDS; i++) tails.push(await time(() => call('process_output', { process_id: proc.process_id, tail_lines: 100 })));
    const last = await call('process_output', { process_id: proc.process_id, tail_lines: 100 });
    const tail = fullStats(tails);
    await emitRows([
      { id: `w-tail${sizeMb}`, title: `process_output tail 100 lines of a ${sizeMb} MB log`, ...tail, measured: tail.p50, unit: 'ms', target: 'p50 ≤ 10 ms', pass: tail.p50 <= 10 },
    ]);
    console.log(
      JSON.stringify({ bench: `process_output tail 100 lines, ${sizeMb} MB log`, log_bytes: last.total_bytes, lines: last.output.split('\n').length - 1, mcp_ms: stats(tails), target_ms: 10 }),
    );
  }
} finally {
  await client.close();
  await rm(dataDir, { recursive: true, force: true });
}
