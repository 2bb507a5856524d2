// Sandbox overhead: run_code `print(1)` through the runtime at level isolated vs process vs the bare
// interpreter, p50 / p90 over N runs each (interleaved so machine noise hits all alike). Each level
// twice: with the warm path (the default: the process, and at level isolated its sandbox, launched
// ahead for a shape run more than once) and cold (a runtime with --warm-sandboxes 0: fork, cgroup and
// bubblewrap inside every call, as the first run of a shape has them).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigSchema } from '../dist/config/schema.js';
import { createRuntime } from '../dist/runtime/runtime.js';
import { emitRows, stats } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 40);
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hangar-bench-'));
const runtime = await createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'silent' }), { hostEnv: { PATH: '/usr/bin:/bin' } });
const coldDir = mkdtempSync(path.join(os.tmpdir(), 'hangar-bench-'));
const cold = await createRuntime(ConfigSchema.parse({ dataDir: coldDir, logLevel: 'silent', warmSandboxes: 0 }), { hostEnv: { PATH: '/usr/bin:/bin' } });
const times = { isolated: [], cold: [], process: [], processCold: [], bare: [] };
const time = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
// After a warm run the runtime launches the next standby in the background (python's start-up at
// its core): let it finish, untimed, so it does not land on the next subject's timing. This is the
// regime the warm path is for (calls with a pause between them); bench a measures back-to-back calls.
const settle = async () => {
  for (let waited = 0; runtime.exec.standbyCount < 2 && waited < 1000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
};
for (let i = 0; i < N + 3; i++) {
  const iso = await time(() => runtime.exec.runCode({ language: 'python', code: 'print(1)', policy: { sandbox: 'isolated' } }));
  await settle();
  const isoCold = await time(() => cold.exec.runCode({ language: 'python', code: 'print(1)', policy: { sandbox: 'isolated' } }));
  const proc = await time(() => runtime.exec.runCode({ language: 'python', code: 'print(1)', policy: { sandbox: 'process' } }));
  await settle();
  const procCold = await time(() => cold.exec.runCode({ language: 'python', code: 'print(1)', policy: { sandbox: 'process' } }));
  const bare = await time(async () => execFileSync('/usr/bin/python3', ['-c', 'print(1)']));
  if (i < 3) continue; // warm-up
  times.isolated.push(iso);
  times.cold.push(isoCold);
  times.process.push(proc);
  times.processCold.push(procCold);
  times.bare.push(bare);
}
await runtime.close();
await cold.close();
rmSync(dataDir, { recursive: true, force: true });
rmSync(coldDir, { recursive: true, force: true });
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
for (const [name, xs] of Object.entries(times)) console.log(`${name.padEnd(9)} p50 ${q(xs, 0.5).toFixed(1)} ms  p90 ${q(xs, 0.9).toFixed(1)} ms`);
console.log(`isolated - process p50: ${(q(times.isolated, 0.5) - q(times.process, 0.5)).toFixed(1)} ms warm, ${(q(times.cold, 0.5) - q(times.processCold, 0.5)).toFixed(1)} ms cold`);
const rowOf = (id, title, xs, note = '') => ({ id, title, ...stats(xs), note });
const iso = stats(times.isolated);
const proc = stats(times.process);
const isoCold = stats(times.cold);
const procCold = stats(times.processCold);
await emitRows([
  rowOf('s-iso', 'run_code print(1) in-process runtime, level isolated (warm path, the default)', times.isolated, 'bubblewrap set up ahead (standby sandbox)'),
  rowOf('s-iso-cold', 'run_code print(1) in-process runtime, level isolated, cold (--warm-sandboxes 0)', times.cold, 'bubblewrap inside the call'),
  rowOf('s-proc', 'run_code print(1) in-process runtime, level process (warm path, the default)', times.process),
  rowOf('s-proc-cold', 'run_code print(1) in-process runtime, level process, cold (--warm-sandboxes 0)', times.processCold),
  rowOf('s-bare', 'bare /usr/bin/python3 -c print(1) (execFileSync)', times.bare),
  {
    id: 's-iso−proc',
    title: 'isolated − process (p50), both warm (the default)',
    n: iso.n,
    measured: iso.p50 - proc.p50,
    unit: 'ms',
    target: '≤ 10 ms',
    pass: iso.p50 - proc.p50 <= 10,
    note: `ratio ${(iso.p50 / proc.p50).toFixed(2)}×`,
  },
  {
    id: 's-cold−proc',
    title: 'isolated − process (p50), both cold: the first run of a shape',
    n: isoCold.n,
    measured: isoCold.p50 - procCold.p50,
    unit: 'ms',
    note: `ratio ${(isoCold.p50 / procCold.p50).toFixed(2)}×`,
  },
]);
