// Where the time goes: runs the built CLI under `node --cpu-prof` over MCP stdio, does either a
// start-up (initialize + tools/list) or N run_code calls, and prints self time by package / file.
// Usage: node bench/profile.mjs start|run|repl|kernel [N]   (repl: repl_execute `x += 1` on the builtin python driver; kernel: on ipykernel)    (profiles are left in bench/results/profiles/)
import { readdir, readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CLI, CLEAN_PATH, NODE, ROOT, connectStdio, removeDir, tempDir } from './lib.mjs';

const mode = process.argv[2] ?? 'start';
const count = Number(process.argv[3] ?? 200);
const profDir = path.join(ROOT, 'bench/results/profiles', `${mode}-${Date.now()}`);
await mkdir(profDir, { recursive: true });
const dataDir = await tempDir('prof');
const session = await connectStdio({
  command: NODE,
  args: ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100', CLI, 'serve', '--data-dir', dataDir, '--log-level', 'warn', '--sandbox', process.env.SANDBOX ?? 'process'],
  env: { PATH: CLEAN_PATH },
});
await session.client.listTools();
if (mode === 'run') for (let i = 0; i < count; i++) await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)' } });
if (mode === 'repl' || mode === 'kernel') {
  const created = await session.client.callTool({ name: 'repl_create', arguments: mode === 'kernel' ? { kernel: 'python3' } : {} });
  const id = created.structuredContent.session_id;
  await session.client.callTool({ name: 'repl_execute', arguments: { session_id: id, code: 'x = 0' } });
  for (let i = 0; i < count; i++) await session.client.callTool({ name: 'repl_execute', arguments: { session_id: id, code: 'x += 1' } });
}
await session.close();
await new Promise((resolve) => setTimeout(resolve, 1500));
await removeDir(dataDir);

const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(await readFile(path.join(profDir, file), 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas;
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0) / 1000));
const group = (url, fn) => {
  if (!url) return `(${fn || 'native'})`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 13).split('/').slice(0, url.slice(nm + 13).startsWith('@') ? 2 : 1).join('/');
  if (url.startsWith('node:')) return url;
  return url.replace(`file://${ROOT}/`, '');
};
const totals = new Map();
const fns = new Map();
for (const [id, ms] of self) {
  const node = byId.get(id);
  const key = group(node.callFrame.url, node.callFrame.functionName);
  totals.set(key, (totals.get(key) ?? 0) + ms);
  const fkey = `${node.callFrame.functionName || '(anon)'} ${key}:${node.callFrame.lineNumber + 1}`;
  fns.set(fkey, (fns.get(fkey) ?? 0) + ms);
}
const total = [...totals.values()].reduce((a, b) => a + b, 0);
const top = (map, k) => [...map].sort((x, y) => y[1] - x[1]).slice(0, k).map(([name, ms]) => `${ms.toFixed(1).padStart(8)} ms  ${name}`).join('\n');
process.stdout.write(`profile ${path.join(profDir, file)}\nsampled ${total.toFixed(0)} ms\n\nby package/file (self):\n${top(totals, 25)}\n\nby function (self):\n${top(fns, 25)}\n`);
