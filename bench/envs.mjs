// Environments benchmark (issue 4): create_environment vs `python -m venv` (with pip) vs
// `python -m venv --without-pip`; install of one local wheel through Hangar vs plain `pip install`.
// Targets: create p50 <= 150 ms; install within 1.2x plain pip. Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { createRuntime } = await import(path.join(here, '../dist/runtime/runtime.js'));
const { ConfigSchema } = await import(path.join(here, '../dist/config/schema.js'));
const { emitRows } = await import(path.join(here, 'lib.mjs'));

const PY = '/usr/bin/python3';
const N = Number(process.env.BENCH_N ?? 20);
const root = mkdtempSync(path.join(os.tmpdir(), 'hangar-bench-envs-'));
// Same conditions for both sides: no pip configuration, no index, bytecode allowed.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIP_') && k !== 'PYTHONDONTWRITEBYTECODE'));
Object.assign(env, { PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' });

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const report = (label, xs) => {
  const r = { label, n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
  console.log(`${label.padEnd(44)} n=${String(r.n).padStart(3)}  p50 ${r.p50.toFixed(1).padStart(8)} ms  p99 ${r.p99.toFixed(1).padStart(8)} ms`);
  return r;
};
const time = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

// A one-module wheel, as the tests build them.
const wheels = path.join(root, 'wheels');
mkdirSync(wheels);
execFileSync(PY, ['-I', '-c', `
import zipfile, sys
d = sys.argv[1]
with zipfile.ZipFile(d + '/benchpkg-1.0-py3-none-any.whl', 'w') as z:
    z.writestr('benchpkg/__init__.py', 'X = 1\\n')
    z.writestr('benchpkg-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: benchpkg\\nVersion: 1.0\\n')
    z.writestr('benchpkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: bench\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
    z.writestr('benchpkg-1.0.dist-info/RECORD', '')
`, wheels]);

const runtime = await createRuntime(ConfigSchema.parse({ dataDir: path.join(root, 'data'), logLevel: 'silent' }), { hostEnv: env });
try {
  await runtime.envs.interpreters.list(); // discovery is cached per runtime: not part of create
  await runtime.envs.create({ name: 'warmup' });
  const results = {};
  const ours = [];
  for (let i = 0; i < N; i++) ours.push(await time(() => runtime.envs.create({ name: `bench-${i}` })));
  results.create = report('create_environment (EnvManager.create)', ours);
  const withoutPip = [];
  for (let i = 0; i < N; i++) withoutPip.push(await time(async () => execFileSync(PY, ['-m', 'venv', '--without-pip', path.join(root, `np-${i}`)], { env })));
  results.withoutPip = report('python -m venv --without-pip', withoutPip);
  const withPip = [];
  for (let i = 0; i < Math.max(3, Math.round(N / 4)); i++) withPip.push(await time(async () => execFileSync(PY, ['-m', 'venv', path.join(root, `wp-${i}`)], { env })));
  results.withPip = report('python -m venv (with pip)', withPip);

  // Install of one local wheel: same package, same source, removed between runs (not timed).
  const target = await runtime.envs.create({ name: 'install-target' });
  const plainVenv = path.join(root, 'wp-0');
  const clean = (site) => {
    for (const name of readdirSync(site)) if (name.startsWith('benchpkg')) rmSync(path.join(site, name), { recursive: true, force: true });
  };
  const siteOf = (venv) => {
    const lib = path.join(venv, 'lib');
    return path.join(lib, readdirSync(lib)[0], 'site-packages');
  };
  await runtime.envs.installPackages(target.env_id, ['benchpkg'], { findLinks: [wheels] }); // unpacks the shared pip once
  clean(siteOf(target.env_path));
  execFileSync(path.join(plainVenv, 'bin/python'), ['-m', 'pip', '--version'], { env }); // warm
  const oursInstall = [];
  const plainInstall = [];
  const M = Math.max(5, Math.round(N / 2));
  for (let i = 0; i < M; i++) {
    oursInstall.push(await time(() => runtime.envs.installPackages(target.env_id, ['benchpkg'], { findLinks: [wheels] })));
    clean(siteOf(target.env_path));
    plainInstall.push(await time(async () => execFileSync(path.join(plainVenv, 'bin/python'), ['-m', 'pip', 'install', '--no-index', '--find-links', wheels, 'benchpkg'], { env, stdio: ['ignore', 'ignore', 'inherit'] })));
    clean(siteOf(plainVenv));
  }
  results.install = report('install_packages (one local wheel)', oursInstall);
  results.plainInstall = report('plain pip install (same wheel)', plainInstall);
  console.log('');
  console.log(`create p50 ${results.create.p50.toFixed(1)} ms (target <= 150): ${results.create.p50 <= 150 ? 'MET' : 'MISSED'}; ` +
    `vs venv --without-pip ${(results.create.p50 / results.withoutPip.p50).toFixed(2)}x, vs venv with pip ${(results.create.p50 / results.withPip.p50).toFixed(3)}x`);
  const ratio = results.install.p50 / results.plainInstall.p50;
  console.log(`install p50 ratio vs plain pip ${ratio.toFixed(2)}x (target <= 1.2): ${ratio <= 1.2 ? 'MET' : 'MISSED'}`);
  const row = (id, r, extra = {}) => ({ id, title: r.label, n: r.n, p50: r.p50, p99: r.p99, mean: r.mean, ...extra });
  await emitRows([
    row('v-create', results.create, { measured: results.create.p50, unit: 'ms', target: 'p50 ≤ 150 ms', pass: results.create.p50 <= 150 }),
    row('v-nopip', results.withoutPip),
    row('v-pip', results.withPip),
    row('v-install', results.install),
    row('v-pipinst', results.plainInstall),
    { id: 'v-install/pip', title: 'ratio install_packages / plain pip (p50)', n: results.install.n, measured: ratio, unit: '×', target: '≤ 1.2', pass: ratio <= 1.2 },
  ]);
} finally {
  await runtime.close();
  rmSync(root, { recursive: true, force: true });
}
