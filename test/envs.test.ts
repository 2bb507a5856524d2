import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/schema.js';
import { BACKEND_NAMES, type InstallStep } from '../src/runtime/envs/index.js';
import { HangarError } from '../src/runtime/errors.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { tempDir } from './helpers/cli.js';
import { buildWheel, serveSimpleIndex } from './helpers/wheels.js';

// Offline: no pip configuration of the machine, and no index unless a test names its loopback one.
const NO_PIP_SETTINGS = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PIP_')));
const HOST_ENV = { ...NO_PIP_SETTINGS, PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1' };
const ONLINE_ENV = { ...NO_PIP_SETTINGS, PIP_CONFIG_FILE: '/dev/null' };

let root: string;
let wheels: string;
let runtime: Runtime;

async function makeRuntime(dataDir: string, hostEnv: NodeJS.ProcessEnv = HOST_ENV): Promise<Runtime> {
  return createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'silent', installTimeout: 120 }), { hostEnv });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HangarError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

beforeAll(async () => {
  root = await tempDir('hangar-envs-');
  wheels = path.join(root, 'wheels');
  await mkdir(wheels);
  buildWheel(wheels, { name: 'alpha', version: '1.0' });
  buildWheel(wheels, { name: 'alpha', version: '2.0' });
  buildWheel(wheels, { name: 'beta', version: '1.0', requires: ['alpha>=1.0'], code: 'import alpha\nVERSION = "1.0"\nUSES = alpha.VERSION\n' });
  // Installs alpha (its dependency) first, then fails inside pip's install phase: a file escaping the target.
  buildWheel(wheels, { name: 'gamma', version: '1.0', requires: ['alpha'], extraFiles: { '../../escaped.py': 'x = 1\n' } });
  runtime = await makeRuntime(path.join(root, 'data'));
});

afterAll(async () => {
  await runtime.close();
  await rm(root, { recursive: true, force: true });
});

describe('interpreters', () => {
  it('finds real binaries with versions, never shims, and resolves versions and paths', async () => {
    const all = await runtime.envs.interpreters.list();
    expect(all.length).toBeGreaterThan(0);
    for (const i of all) {
      expect(i.path).not.toMatch(/shims/);
      expect(i.version).toMatch(/^\d+\.\d+\.\d+$/);
    }
    expect(all.filter((i) => i.default)).toHaveLength(1);
    const system = await runtime.envs.interpreters.resolve('/usr/bin/python3');
    expect(system.path).toMatch(/^\/usr\/bin\/python3\.\d+$/);
    const [major, minor] = system.version.split('.');
    expect((await runtime.envs.interpreters.resolve(`${major}.${minor}`)).version.startsWith(`${major}.${minor}.`)).toBe(true);
    expect((await runtime.envs.interpreters.resolve(system.version)).version).toBe(system.version);
    const missing = await code(runtime.envs.interpreters.resolve('3.99'));
    expect(missing).toMatch(/^PYTHON_VERSION_UNAVAILABLE: Python 3\.99 is not installed; available: .*\d+\.\d+\.\d+/);
    expect(await code(runtime.envs.interpreters.resolve('latest; rm -rf /'))).toMatch(/^INVALID_ARGUMENT/);
  });
});

describe('backends', () => {
  it('reports which backends this machine has (absent ones are not in the matrix)', async () => {
    const available = (await runtime.envs.availableBackends()).map((b) => b.name);
    const absent = BACKEND_NAMES.filter((b) => !available.includes(b));
    console.log(`environment backends on this machine: ${available.join(', ')}; not installed (not tested here): ${absent.join(', ') || 'none'}`);
    expect(available).toContain('venv');
  });

  const present = ['venv', ...(['uv', 'conda', 'micromamba'] as const).filter((b) => Boolean(process.env.PATH?.split(':').some((d) => existsSync(path.join(d, b)) && !d.includes('shims'))))] as const;
  it.each(present)('creates an environment with backend %s, installs into it and runs code with its python', async (backend) => {
    const env = await runtime.envs.create({ name: `b-${backend}`, backend });
    expect(env.backend).toBe(backend);
    expect(existsSync(env.python_path)).toBe(true);
    expect(existsSync(env.workspace_path)).toBe(true);
    expect(path.relative(path.join(root, 'data', 'envs', env.env_id), env.env_path)).toMatch(/^(venv|conda)$/);
    await runtime.envs.installPackages(env.env_id, ['beta'], { findLinks: [wheels] });
    const result = await runtime.exec.runCode({
      language: 'python',
      code: 'import beta, sys, os; print(beta.USES, sys.prefix == os.environ["VIRTUAL_ENV"], os.getcwd())',
      environment: { pythonPath: env.python_path, envPath: env.env_path, workspacePath: env.workspace_path },
    });
    expect(result.stderr).toBe('');
    // The workspace is the working directory: at its host path at level process, at /workspace inside the sandbox.
    const cwd = result.sandbox.level === 'isolated' ? '/workspace' : env.workspace_path;
    expect(result.stdout.trim()).toBe(`2.0 True ${cwd}`);
  });
});

describe('packages', () => {
  it('installs with a dependency, lists, upgrades, and reports progress per package', async () => {
    const env = await runtime.envs.create({ name: 'pkgs' });
    const steps: InstallStep[] = [];
    const first = await runtime.envs.installPackages(env.env_id, ['beta', 'alpha==1.0'], { findLinks: [wheels], onProgress: (s) => steps.push(s) });
    expect(first.changes.added.map((p) => `${p.name}==${p.version}`).sort()).toEqual(['alpha==1.0', 'beta==1.0']);
    expect(steps.map((s) => s.phase)).toEqual(expect.arrayContaining(['resolving', 'installing', 'done']));
    expect(steps.filter((s) => s.phase === 'resolving').length).toBeGreaterThanOrEqual(2);
    expect((await runtime.envs.listPackages(env.env_id)).packages).toEqual([
      { name: 'alpha', version: '1.0' },
      { name: 'beta', version: '1.0' },
    ]);
    const up = await runtime.envs.installPackages(env.env_id, ['alpha'], { findLinks: [wheels], upgrade: true });
    expect(up.changes.changed).toEqual([{ name: 'alpha', from: '1.0', to: '2.0' }]);
  });

  it('installs from a loopback PEP 503 simple index', async () => {
    const index = await serveSimpleIndex(wheels);
    const online = await makeRuntime(path.join(root, 'data-index'), ONLINE_ENV);
    try {
      const out = await online.envs.installPackages(undefined, ['beta'], { indexUrl: index.url });
      expect(out.changes.added.map((p) => `${p.name}==${p.version}`).sort()).toEqual(['alpha==2.0', 'beta==1.0']);
      expect(index.requests.some((r) => r.startsWith('/simple/beta'))).toBe(true);
      expect(index.requests.some((r) => r.startsWith('/files/alpha-2.0'))).toBe(true);
    } finally {
      await online.close();
      await index.close();
    }
  });

  it('install_requirements reads package lines from the workspace and refuses options and outside paths', async () => {
    const env = await runtime.envs.create({ name: 'reqs' });
    await writeFile(path.join(env.workspace_path, 'requirements.txt'), '# deps\nalpha==1.0  # pinned\n\nbeta\n');
    const out = await runtime.envs.installRequirements(env.env_id, 'requirements.txt', { findLinks: [wheels] });
    expect(out.packages.map((p) => `${p.name}==${p.version}`)).toEqual(['alpha==1.0', 'beta==1.0']);
    await writeFile(path.join(env.workspace_path, 'evil.txt'), 'alpha\n-r /etc/passwd\n');
    expect(await code(runtime.envs.installRequirements(env.env_id, 'evil.txt', { findLinks: [wheels] }))).toMatch(/^INVALID_ARGUMENT: evil\.txt line 2: options such as "-r"/);
    expect(await code(runtime.envs.installRequirements(env.env_id, '../../../../etc/passwd'))).toMatch(/^PATH_OUTSIDE_WORKSPACE/);
    expect(await code(runtime.envs.installRequirements(env.env_id, '/etc/passwd'))).toMatch(/^PATH_OUTSIDE_WORKSPACE/);
  });

  it('a failed resolution leaves the environment unchanged', async () => {
    const env = await runtime.envs.create({ name: 'fail1' });
    await runtime.envs.installPackages(env.env_id, ['alpha==1.0'], { findLinks: [wheels] });
    const before = (await runtime.envs.listPackages(env.env_id)).packages;
    const failure = await code(runtime.envs.installPackages(env.env_id, ['alpha==2.0', 'no-such-package-xyz'], { findLinks: [wheels] }));
    expect(failure).toMatch(/^INSTALL_FAILED: the installer exited with 1; the environment is unchanged\. Its last lines:\n[\s\S]*no-such-package-xyz/);
    expect((await runtime.envs.listPackages(env.env_id)).packages).toEqual(before);
  });

  it('a failure inside the install phase is rolled back to the exact previous set', async () => {
    const env = await runtime.envs.create({ name: 'fail2' });
    const before = (await runtime.envs.listPackages(env.env_id)).packages;
    const failure = await code(runtime.envs.installPackages(env.env_id, ['gamma'], { findLinks: [wheels] }));
    expect(failure).toMatch(/^INSTALL_FAILED: .*rolled back and the environment is as it was \(\+alpha 2\.0, \+gamma 1\.0\)/);
    expect((await runtime.envs.listPackages(env.env_id)).packages).toEqual(before);
    expect(existsSync(path.join(env.env_path, 'escaped.py'))).toBe(false);
  });

  it('serializes two installs into one environment', async () => {
    const env = await runtime.envs.create({ name: 'serial' });
    const events: Array<{ call: number; phase: string }> = [];
    const install = (call: number, spec: string) =>
      runtime.envs.installPackages(env.env_id, [spec], { findLinks: [wheels], onProgress: (s) => events.push({ call, phase: s.phase }) });
    await Promise.all([install(1, 'alpha==1.0'), install(2, 'beta')]);
    const calls = events.map((e) => e.call);
    const firstOfSecond = calls.indexOf(calls[0] === 1 ? 2 : 1);
    expect(firstOfSecond).toBeGreaterThan(0);
    // Every event of the first install comes before any event of the second.
    expect(calls.slice(firstOfSecond).every((c) => c !== calls[0])).toBe(true);
    expect(events[firstOfSecond - 1]?.phase).toBe('done');
  });

  it('cancellation kills the installer and leaves the environment unchanged', async () => {
    // An index that answers the project page and then never sends the file: pip hangs downloading.
    const hanging = http.createServer((req, res) => {
      if (req.url?.startsWith('/simple/alpha')) res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="/files/alpha-1.0-py3-none-any.whl">alpha-1.0-py3-none-any.whl</a>');
      else res.writeHead(200, { 'content-length': '100000' }).write('PK');
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const online = await makeRuntime(path.join(root, 'data-cancel'), ONLINE_ENV);
    try {
      const env = await online.envs.get();
      const controller = new AbortController();
      const started = performance.now();
      const pending = code(
        online.envs.installPackages(env.env_id, ['alpha'], {
          indexUrl: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/simple/`,
          signal: controller.signal,
          onProgress: (s) => {
            if (s.phase === 'downloading' || s.phase === 'resolving') controller.abort(new Error('the client cancelled'));
          },
        }),
      );
      expect(await pending).toMatch(/^CANCELLED: install cancelled; the environment is unchanged/);
      expect(performance.now() - started).toBeLessThan(20_000);
      expect((await online.envs.listPackages()).packages).toEqual([]);
    } finally {
      await online.close();
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});

describe('lifecycle', () => {
  it('freeze → destroy → restore gives the same package set', async () => {
    const env = await runtime.envs.create({ name: 'frozen' });
    await runtime.envs.installPackages(env.env_id, ['beta', 'alpha==1.0'], { findLinks: [wheels] });
    const frozen = await runtime.envs.freeze(env.env_id);
    expect(frozen).toMatchObject({ format: 'hangar.environment', format_version: 1, backend: 'venv', python_version: env.python_version });
    await runtime.envs.destroy(env.env_id);
    const restored = await runtime.envs.restore('thawed', JSON.parse(JSON.stringify(frozen)), { findLinks: [wheels] });
    expect(restored.packages).toEqual(frozen.packages);
    expect(restored.env.python_version).toBe(env.python_version);
    expect(await code(runtime.envs.restore('bad', { format: 'nope' }))).toMatch(/^INVALID_ARGUMENT: frozen_json is not a Hangar environment document/);
    const injected = { ...frozen, packages: [{ name: '--index-url=http://evil', version: '1' }] };
    expect(await code(runtime.envs.restore('bad2', injected))).toMatch(/^INVALID_ARGUMENT/);
  });

  it('environments survive a restart; a vanished directory is reported as broken, never crashed on', async () => {
    const dataDir = path.join(root, 'data-restart');
    const first = await makeRuntime(dataDir);
    const env = await first.envs.create({ name: 'keeper' });
    await first.envs.installPackages(env.env_id, ['alpha==1.0'], { findLinks: [wheels] });
    const doomed = await first.envs.create({ name: 'doomed' });
    await first.close();
    await rm(doomed.env_path, { recursive: true });
    const second = await makeRuntime(dataDir);
    try {
      const listed = await second.envs.list();
      expect(listed.find((e) => e.env_id === env.env_id)).toMatchObject({ name: 'keeper', status: 'ok' });
      expect(listed.find((e) => e.env_id === doomed.env_id)).toMatchObject({ status: 'broken' });
      expect((await second.envs.listPackages(env.env_id)).packages).toEqual([{ name: 'alpha', version: '1.0' }]);
      expect(await code(second.envs.get(doomed.env_id))).toMatch(/^ENV_NOT_FOUND: environment "env_[0-9a-f]+" is broken/);
      await second.envs.destroy(doomed.env_id);
    } finally {
      await second.close();
    }
  });

  it('destroy ends what runs (hooks) and removes everything; default comes back empty', async () => {
    const env = await runtime.envs.create({ name: 'gone' });
    const seen: string[] = [];
    const off = runtime.envs.onBeforeDestroy((e) => {
      seen.push(e.env_id);
    });
    await runtime.envs.destroy(env.env_id);
    off();
    expect(seen).toEqual([env.env_id]);
    expect(existsSync(path.join(root, 'data', 'envs', env.env_id))).toBe(false);
    expect(await code(runtime.envs.get(env.env_id))).toMatch(/^ENV_NOT_FOUND: environment "env_[0-9a-f]+" does not exist; existing: /);
    const dflt = await runtime.envs.get();
    await runtime.envs.installPackages('default', ['alpha==1.0'], { findLinks: [wheels] });
    await runtime.envs.destroy('default');
    const again = await runtime.envs.get();
    expect(again.env_id).toBe(dflt.env_id);
    expect((await runtime.envs.listPackages()).packages).toEqual([]);
  });
});

describe('bad input: clear errors, nothing run', () => {
  it('refuses bad names, unknown ids, option injection and bad sources', async () => {
    for (const name of ['a/b', '..', '../x', 'x'.repeat(10_000), '', 'default', 'with space']) {
      expect(await code(runtime.envs.create({ name }))).toMatch(/^INVALID_ARGUMENT/);
    }
    expect(await code(runtime.envs.get('env_0123456789'))).toMatch(/^ENV_NOT_FOUND: environment "env_0123456789" does not exist; existing: /);
    expect(await code(runtime.envs.get('../../etc'))).toMatch(/^ENV_NOT_FOUND/);
    expect(await code(runtime.envs.installPackages('env_0123456789', ['alpha']))).toMatch(/^ENV_NOT_FOUND/);
    expect(existsSync(path.join(root, 'data', 'envs', 'env_0123456789'))).toBe(false);
    for (const spec of ['--index-url=http://evil/simple', '-r /etc/passwd', '-e .', '/etc/passwd', './local', 'x @ file:///etc/passwd', 'a\nb', 'x'.repeat(10_000)]) {
      expect(await code(runtime.envs.installPackages(undefined, [spec]))).toMatch(/^INVALID_ARGUMENT/);
    }
    expect(await code(runtime.envs.installPackages(undefined, ['alpha'], { indexUrl: '--trusted-host=x' }))).toMatch(/^INVALID_ARGUMENT: index_url/);
    expect(await code(runtime.envs.installPackages(undefined, ['alpha'], { findLinks: ['../x'] }))).toMatch(/^INVALID_ARGUMENT: find_links/);
    expect(await code(runtime.envs.installPackages(undefined, ['alpha'], { useConda: true }))).toMatch(/^INVALID_ARGUMENT: use_conda needs a conda/);
  });
});
