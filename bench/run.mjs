// `npm run bench`: Hangar's performance targets (DESIGN.md section 9) measured against baselines
// in the same run. Usage: node bench/run.mjs [--quick] [--rounds N] [a b c d e f g ...]
// Then the standalone scenario scripts (sandbox, envs, workspace, repl) run one after another, each
// printing its own table; all rows go into one combined table in bench/results/latest.md.
// Per-call scenarios are interleaved in rounds (a few samples of each in turn), so load from other
// processes on a shared machine hits every scenario alike and the ratios stay meaningful.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import runCode, { makeRunCode, runCodeCold } from './a-run-code.mjs';
import barePython from './b-bare-python.mjs';
import codeRunner from './c-code-runner.mjs';
import noop, { makeNoop } from './d-noop.mjs';
import { makeStartup, nodeStart, startup } from './e-startup.mjs';
import bigOutput from './f-big-output.mjs';
import idleRss from './g-idle-rss.mjs';
import { NODE, PYTHON, ROOT, stats, tempDir } from './lib.mjs';

const SAMPLED = [runCode, runCodeCold, barePython, codeRunner, noop, startup, nodeStart];
const MEASURED = [bigOutput, idleRss];
/**
 * Scenario scripts that run on their own (`node bench/<file>`) and print their own table; run.mjs
 * runs each as a child (fewer samples with --quick) and collects its rows (lib.mjs emitRows).
 */
const SCRIPTS = [
  { id: 'sandbox', file: 'sandbox.mjs', title: 'run_code print(1): level isolated vs process vs bare python (in-process runtime)', quickEnv: { BENCH_N: '15' } },
  { id: 'envs', file: 'envs.mjs', title: 'create_environment and install_packages vs venv and plain pip', quickEnv: { BENCH_N: '6' } },
  { id: 'workspace', file: 'workspace.mjs', title: 'workspace file write+read 1 MB over MCP; process_output tail of 1 MB / 100 MB logs', quickEnv: { ROUNDS: '8' } },
  { id: 'repl', file: 'repl.mjs', title: 'repl_execute: builtin driver and ipykernel, through Hangar vs raw', quickEnv: { BENCH_N: '60' } },
];
/** Scenarios whose numbers only mean something next to a baseline pull the baseline in. */
const BASELINES = { a: ['b'], a0: ['b'], c: ['b'], e: ['e0'] };

function parseArgs(argv) {
  const options = { quick: false, rounds: undefined, baselineCli: undefined, ids: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick' || arg === '-q') options.quick = true;
    else if (arg === '--rounds') options.rounds = Number(argv[++i]);
    else if (arg === '--baseline-cli') options.baselineCli = argv[++i];
    else if (arg === '--help' || arg === '-h') {
      const all = [...SAMPLED, ...MEASURED, ...SCRIPTS].map((s) => `  ${s.id.padEnd(9)} ${s.title}`).join('\n');
      process.stdout.write(`usage: node bench/run.mjs [--quick] [--rounds N] [--baseline-cli PATH] [ID ...]\n\n${all}\n`);
      process.exit(0);
    } else options.ids.push(arg.toLowerCase());
  }
  const known = new Set([...SAMPLED, ...MEASURED, ...SCRIPTS].map((s) => s.id));
  for (const id of options.ids) {
    if (!known.has(id)) {
      process.stderr.write(`bench: unknown scenario "${id}"; known: ${[...known].join(', ')}\n`);
      process.exit(2);
    }
  }
  if (options.rounds !== undefined && !(Number.isInteger(options.rounds) && options.rounds > 0)) {
    process.stderr.write('bench: --rounds takes a positive integer\n');
    process.exit(2);
  }
  return options;
}

function selected(ids) {
  if (ids.length === 0) return new Set([...SAMPLED, ...MEASURED, ...SCRIPTS].map((s) => s.id));
  const set = new Set(ids);
  for (const id of ids) for (const base of BASELINES[id] ?? []) set.add(base);
  return set;
}

async function runSampled(scenarios, { quick, rounds }) {
  const live = [];
  for (const scenario of scenarios) {
    process.stderr.write(`setup ${scenario.id}: ${scenario.title}\n`);
    const handle = await scenario.setup();
    const n = quick ? scenario.quickN : scenario.n;
    const warmup = quick ? Math.ceil(scenario.warmup / 2) : scenario.warmup;
    for (let i = 0; i < warmup; i++) await handle.sample();
    live.push({ scenario, handle, n, samples: [] });
  }
  const roundCount = rounds ?? (quick ? 4 : 10);
  try {
    for (let round = 0; round < roundCount; round++) {
      for (const entry of live) {
        const quota = Math.ceil((entry.n * (round + 1)) / roundCount) - entry.samples.length;
        for (let i = 0; i < quota; i++) entry.samples.push(await entry.handle.sample());
      }
      process.stderr.write(`round ${round + 1}/${roundCount} done\n`);
    }
  } finally {
    for (const entry of live) await entry.handle.teardown().catch(() => undefined);
  }
  return new Map(live.map((e) => [e.scenario.id, { title: e.scenario.title, note: e.handle.note ?? '', ...stats(e.samples) }]));
}

/** Runs one scenario script as a child (its table goes straight to our stdout) and returns its rows. */
async function runScript(script, { quick }) {
  const dir = await tempDir('rows');
  const rowsFile = path.join(dir, 'rows.jsonl');
  try {
    process.stdout.write(`\n== ${script.id}: ${script.title} (bench/${script.file})\n`);
    const code = await new Promise((resolve) => {
      const child = spawn(NODE, [path.join(ROOT, 'bench', script.file)], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, ...(quick ? script.quickEnv : {}), BENCH_ROWS: rowsFile },
      });
      child.once('error', () => resolve(-1));
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    const text = await readFile(rowsFile, 'utf8').catch(() => '');
    const rows = text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    if (code !== 0) rows.push({ id: script.id, title: `bench/${script.file}`, n: 0, note: `FAILED: exited with ${code}`, pass: false });
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sampledRows(results) {
  const rows = [];
  const get = (id) => results.get(id);
  const plain = (id, extra = {}) => {
    const r = get(id);
    if (r) rows.push({ id, title: r.title, n: r.n, p50: r.p50, p99: r.p99, mean: r.mean, note: r.note, ...extra });
  };
  const ratioRow = (id, num, den, target, limit) => {
    const a = get(num);
    const b = get(den);
    if (!a || !b) return;
    const ratio = a.p50 / b.p50;
    rows.push({
      id,
      title: `ratio ${num}/${den} (p50)`,
      n: Math.min(a.n, b.n),
      measured: ratio,
      unit: '×',
      target: target ?? '—',
      pass: limit === undefined ? undefined : ratio <= limit,
      note: `mean ${(a.mean / b.mean).toFixed(2)}×, p99 ${(a.p99 / b.p99).toFixed(2)}×; p50 ${(a.p50 - b.p50).toFixed(2)} ms above`,
    });
  };
  plain('a');
  plain('a0');
  plain('a@base');
  ratioRow('a/a@base', 'a', 'a@base');
  plain('b');
  plain('c');
  ratioRow('a/b', 'a', 'b', '≤ 1.3', 1.3);
  ratioRow('a0/b', 'a0', 'b');
  ratioRow('c/b', 'c', 'b');
  ratioRow('a/c', 'a', 'c');
  const d = get('d');
  if (d) plain('d', { measured: d.p50, unit: 'ms', target: 'p50 ≤ 0.5 ms', pass: d.p50 <= 0.5 });
  plain('d@base');
  ratioRow('d/d@base', 'd', 'd@base');
  const e = get('e');
  if (e) plain('e', { measured: e.p50, unit: 'ms', target: 'p50 ≤ 150 ms', pass: e.p50 <= 150 });
  plain('e@base');
  ratioRow('e/e@base', 'e', 'e@base');
  plain('e0');
  return rows;
}

const fmt = (v, digits = 2) => (v === undefined || v === null || Number.isNaN(v) ? '—' : v.toFixed(digits));

function tableLines(rows) {
  const header = ['id', 'scenario', 'n', 'p50 ms', 'p99 ms', 'mean ms', 'measured', 'target', 'result', 'note'];
  const body = rows.map((r) => [
    r.id,
    r.title,
    r.n === undefined ? '—' : String(r.n),
    fmt(r.p50),
    fmt(r.p99),
    fmt(r.mean),
    r.measured === undefined ? '—' : `${fmt(r.measured, r.unit === 'MiB' ? 1 : 2)} ${r.unit}`,
    r.target ?? '—',
    r.pass === undefined ? '—' : r.pass ? 'PASS' : 'FAIL',
    r.note ?? '',
  ]);
  return { header, body };
}

function renderText({ header, body }) {
  const cols = header.length - 1; // the note is left unpadded
  const widths = header.slice(0, cols).map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < cols ? c.padEnd(widths[i]) : c)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function renderMarkdown({ header, body }) {
  const esc = (c) => c.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function machine() {
  const cpus = os.cpus();
  let python = '?';
  try {
    python = execFileSync(PYTHON, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as unknown.
  }
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `${os.type()} ${os.release()}, node ${process.version}, ${python} (${PYTHON})`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const want = selected(options.ids);
  const startedAt = new Date();
  const loadBefore = os.loadavg()[0];
  const sampled = SAMPLED.filter((s) => want.has(s.id));
  if (options.baselineCli) {
    if (want.has('a')) sampled.splice(sampled.indexOf(runCode) + 1, 0, makeRunCode(options.baselineCli, 'a@base', ' [baseline build]'));
    if (want.has('d')) sampled.splice(sampled.indexOf(noop) + 1, 0, makeNoop(path.dirname(path.resolve(options.baselineCli)), 'd@base', ' [baseline build]'));
    if (want.has('e')) sampled.splice(sampled.indexOf(startup) + 1, 0, makeStartup(options.baselineCli, 'e@base', ' [baseline build]'));
  }
  const results = await runSampled(sampled, options);
  const rows = sampledRows(results);
  for (const scenario of MEASURED.filter((s) => want.has(s.id))) {
    process.stderr.write(`measure ${scenario.id}: ${scenario.title}\n`);
    rows.push(...(await scenario.measure(options)));
  }
  for (const script of SCRIPTS.filter((s) => want.has(s.id))) {
    process.stderr.write(`script ${script.id}: bench/${script.file}\n`);
    rows.push(...(await runScript(script, options)));
  }
  const loadAfter = os.loadavg()[0];
  const table = tableLines(rows);
  const context =
    `date ${startedAt.toISOString()}; ${machine()}; load avg (1 min) ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}; ` +
    `mode ${options.quick ? 'quick' : 'full'}; scenarios ${[...want].join(' ')}`;
  process.stdout.write(`\n${context}\n\n${renderText(table)}\n`);
  const dir = path.join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'latest.md'), `# Hangar benchmark\n\n${context}\n\n${renderMarkdown(table)}\n`);
  process.stdout.write(`\nwritten: bench/results/latest.md\n`);
  const failed = rows.filter((r) => r.pass === false).map((r) => r.id);
  if (failed.length) process.stdout.write(`targets missed: ${failed.join(', ')}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
