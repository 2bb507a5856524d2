import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunCodeRequest } from '../src/runtime/exec/exec-service.js';
import type { ExecutionResult } from '../src/runtime/exec/result.js';
import { probeIsolation } from '../src/runtime/sandbox/bwrap.js';
import { leftoverCgroups } from './helpers/hostile.js';
import { procsUsing } from './helpers/procs.js';
import { testRuntime } from './helpers/runtime.js';

/**
 * The warm path: a run shape used more than once gets its process launched ahead, at level isolated
 * inside a sandbox already set up (standby-pool.ts). Every run on a standby must be what a cold run
 * is: a fresh sandbox, its limits, its timeout counted from the call, and nothing left when the
 * runtime closes.
 */

const isolation = await probeIsolation();
if (!isolation.available && process.env.CI === 'true') throw new Error(`CI=true but the isolated sandbox is unavailable: ${isolation.reason}`);
const skip = !isolation.available;
if (skip) process.stderr.write(`\n*** SKIPPING sandbox-warm: ${isolation.reason}\n`);

type TestRuntime = Awaited<ReturnType<typeof testRuntime>>;
let runtime: TestRuntime | undefined;
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

async function standbyReady(rt: TestRuntime, count = 1): Promise<void> {
  // The warm path needs per-run cgroups (docs/sandbox.md); say so rather than time out.
  if (rt.cgroups.mode === 'none') throw new Error('no writable cgroups on this host: the warm path is off by design');
  const deadline = Date.now() + 10_000;
  while (rt.exec.standbyCount < count) {
    if (Date.now() > deadline) throw new Error(`no standby sandbox within 10 s (ready: ${rt.exec.standbyCount})`);
    await sleep(10);
  }
}

/** A runtime with an environment whose isolated python shape ran twice, so a standby binds it. */
async function environmentWithStandby(name: string) {
  runtime = await testRuntime();
  const rt = runtime;
  const env = await rt.envs.create({ name });
  const environment = { pythonPath: env.python_path, envPath: env.env_path, workspacePath: env.workspace_path };
  const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'isolated' }, environment };
  await rt.exec.runCode({ ...shape, code: 'pass' });
  await rt.exec.runCode({ ...shape, code: 'pass' });
  await standbyReady(rt);
  return { rt, env, shape };
}

/**
 * Prints how long ago this process started, in clock ticks. On a standby the program is the gate
 * shell after its exec, so the age includes the wait at the gate; a cold run shows ≈ its own start.
 */
const SANDBOX_AGE = `
started = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])
print('age', round(float(open('/proc/uptime').read().split()[0]) * 100) - started)
`;

const ageOf = (result: ExecutionResult): number => Number(/age (\d+)/.exec(result.stdout)?.[1] ?? -1);

describe.skipIf(skip)('warm sandboxes (level isolated)', () => {
  it('a shape run twice gets a standby; the next run takes it, and another is launched while it runs', async () => {
    runtime = await testRuntime();
    const rt = runtime;
    const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'isolated' } };
    expect((await rt.exec.runCode({ ...shape, code: 'print(1)' })).stdout).toBe('1\n');
    expect(rt.exec.standbyCount).toBe(0);
    expect((await rt.exec.runCode({ ...shape, code: 'print(2)' })).stdout).toBe('2\n');
    await standbyReady(rt);
    await sleep(600);
    const warm = await rt.exec.runCode({ ...shape, code: `import os, socket, sys\n${SANDBOX_AGE}\nprint(os.getuid(), socket.gethostname(), os.getcwd(), sys.stdin.read())`, stdin: 'from stdin' });
    expect(warm.status, warm.stderr).toBe('ok');
    expect(warm.sandbox.level).toBe('isolated');
    // Launched ahead: bubblewrap's init is at least the 0.6 s wait older than the program.
    expect(ageOf(warm)).toBeGreaterThanOrEqual(50);
    expect(warm.stdout).toContain('65534 hangar /workspace from stdin');
    await standbyReady(rt);
    // A shape used once launches nothing.
    await rt.exec.runCode({ language: 'python', code: 'print(3)', policy: { sandbox: 'isolated', memoryMb: 300 } });
    await sleep(200);
    expect(rt.exec.standbyCount).toBe(1);
  });

  it('every warm run is a fresh sandbox: nothing of the last run in /tmp or its scratch directory', async () => {
    runtime = await testRuntime();
    const rt = runtime;
    const shape: Omit<RunCodeRequest, 'code'> = { language: 'bash', policy: { sandbox: 'isolated' } };
    await rt.exec.runCode({ ...shape, code: 'true' });
    await rt.exec.runCode({ ...shape, code: 'true' });
    await standbyReady(rt);
    const first = await rt.exec.runCode({ ...shape, code: 'echo left > /tmp/mark; echo left > ./mark; sleep 5 & echo $$' });
    expect(first.status, first.stderr).toBe('ok');
    await standbyReady(rt);
    const second = await rt.exec.runCode({ ...shape, code: 'ls /tmp/mark ./mark 2>&1; ps -e -o pid= | wc -l' });
    expect(second.stdout).toMatch(/cannot access '\/tmp\/mark'/);
    expect(second.stdout).toMatch(/cannot access '\.\/mark'/);
    // Only bubblewrap's init, the shell, ls / ps and wc: the first run's background sleep is gone.
    expect(Number(second.stdout.trim().split('\n').at(-1))).toBeLessThanOrEqual(4);
  });

  it('a standby that waited longer than the timeout still gets the whole timeout, from the call', async () => {
    runtime = await testRuntime();
    const rt = runtime;
    const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'isolated', timeoutS: 1 } };
    await rt.exec.runCode({ ...shape, code: 'pass' });
    await rt.exec.runCode({ ...shape, code: 'pass' });
    await standbyReady(rt);
    await sleep(1500);
    const ok = await rt.exec.runCode({ ...shape, code: `import time\ntime.sleep(0.5)\n${SANDBOX_AGE}` });
    expect(ok.status, ok.stderr).toBe('ok');
    expect(ageOf(ok)).toBeGreaterThanOrEqual(100);
    await standbyReady(rt);
    const late = await rt.exec.runCode({ ...shape, code: 'import time\ntime.sleep(5)' });
    expect(late.status).toBe('timeout');
    expect(late.error?.message).toMatch(/timed out after 1 s/);
  });

  it('limits hold on a warm run: memory, processes, file size', async () => {
    runtime = await testRuntime();
    const rt = runtime;
    const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'isolated', memoryMb: 64, maxProcesses: 16, maxFileMb: 1 } };
    await rt.exec.runCode({ ...shape, code: 'pass' });
    await rt.exec.runCode({ ...shape, code: 'pass' });
    await standbyReady(rt);
    const memory = await rt.exec.runCode({ ...shape, code: `${SANDBOX_AGE}\nimport sys; sys.stdout.flush()\nx = bytearray(400 * 1024 * 1024)` });
    expect(ageOf(memory)).toBeGreaterThan(0);
    expect(memory.status).toBe('killed');
    expect(memory.error?.message).toMatch(/memory limit 64 MB exceeded/);
    await standbyReady(rt);
    const forks = await rt.exec.runCode({ ...shape, code: 'import os, time\nfor _ in range(64):\n    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)' });
    expect(forks.status).toBe('killed');
    expect(forks.error?.message).toMatch(/process limit 16 reached/);
    await standbyReady(rt);
    // Python ignores SIGXFSZ: the write fails instead of the process being killed.
    const file = await rt.exec.runCode({ ...shape, code: "open('big', 'wb').write(b'x' * 4 * 1024 * 1024)" });
    expect(file.status).toBe('error');
    expect(file.error?.message).toContain('File too large');
  });

  it('closing the runtime ends every standby: no process, no cgroup, no directory left', async () => {
    const rt = await testRuntime();
    const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'isolated' } };
    for (const code of ['pass', 'pass']) await rt.exec.runCode({ ...shape, code });
    await rt.exec.runCode({ language: 'bash', code: 'true', policy: { sandbox: 'isolated' } });
    await rt.exec.runCode({ language: 'bash', code: 'true', policy: { sandbox: 'isolated' } });
    await standbyReady(rt, 2);
    const dataDir = rt.config.dataDir;
    expect((await procsUsing(dataDir)).length).toBeGreaterThan(0);
    const roots = rt.cgroups.roots;
    await rt.dispose();
    expect(await procsUsing(dataDir)).toEqual([]);
    expect(await leftoverCgroups(roots)).toEqual([]);
  });

  it('destroying an environment ends the standbys that bind it', async () => {
    const { rt, env } = await environmentWithStandby('warm');
    expect((await procsUsing(env.workspace_path)).length).toBeGreaterThan(0);
    await rt.envs.destroy(env.env_id);
    expect(rt.exec.standbyCount).toBe(0);
    expect(await procsUsing(env.workspace_path)).toEqual([]);
  });

  it('a workspace removed and made again is not hidden by a standby that binds the old one', async () => {
    const { rt, env, shape } = await environmentWithStandby('again');
    await rm(env.workspace_path, { recursive: true, force: true });
    await mkdir(env.workspace_path);
    const run = await rt.exec.runCode({ ...shape, code: "open('landed.txt', 'w').write('yes')" });
    expect(run.status, run.stderr).toBe('ok');
    expect(await readFile(path.join(env.workspace_path, 'landed.txt'), 'utf8')).toBe('yes');
  });

  it('--warm-sandboxes 0 launches none', async () => {
    runtime = await testRuntime({ warmSandboxes: 0 });
    const rt = runtime;
    for (let i = 0; i < 3; i++) await rt.exec.runCode({ language: 'python', code: 'pass', policy: { sandbox: 'isolated' } });
    await sleep(200);
    expect(rt.exec.standbyCount).toBe(0);
    expect(await procsUsing(rt.config.dataDir)).toEqual([]);
  });
});

describe('warm runs at level process', () => {
  it('a shape run twice gets a launched process; the next run takes it, within its limits and timeout', async () => {
    runtime = await testRuntime();
    const rt = runtime;
    const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'process', memoryMb: 64, timeoutS: 1 } };
    await rt.exec.runCode({ ...shape, code: 'pass' });
    await rt.exec.runCode({ ...shape, code: 'pass' });
    await standbyReady(rt);
    await sleep(1500);
    const warm = await rt.exec.runCode({ ...shape, code: `import os, sys, time\ntime.sleep(0.3)\n${SANDBOX_AGE}\nprint(os.environ['TMPDIR'].rsplit('/', 2)[-2][:5], sys.stdin.read())`, stdin: 'in' });
    expect(warm.status, warm.stderr).toBe('ok');
    expect(warm.sandbox.level).toBe('process');
    expect(ageOf(warm)).toBeGreaterThanOrEqual(100);
    // Its own scratch directory (TMPDIR), set up with the standby.
    expect(warm.stdout).toContain('warm_ in');
    await standbyReady(rt);
    const memory = await rt.exec.runCode({ ...shape, code: 'x = bytearray(400 * 1024 * 1024)' });
    expect(memory.status).toBe('killed');
    expect(memory.error?.message).toMatch(/memory limit 64 MB exceeded/);
    await standbyReady(rt);
    const late = await rt.exec.runCode({ ...shape, code: 'import time\ntime.sleep(5)' });
    expect(late.status).toBe('timeout');
    const dataDir = rt.config.dataDir;
    const roots = rt.cgroups.roots;
    await standbyReady(rt);
    runtime = undefined;
    await rt.dispose();
    expect(await procsUsing(dataDir)).toEqual([]);
    expect(await leftoverCgroups(roots)).toEqual([]);
  });
});

/**
 * The python pre-start (languages/python-prestart.ts) must be invisible: the same program, given the
 * same arguments and stdin, reports the same on a warm run as on a cold one.
 */
const FIDELITY: Array<{ name: string; code: string }> = [
  {
    name: 'module globals, argv, path, stdin',
    code: `import sys
print(sys.argv, __name__, __file__, sys.path[0], __package__, __spec__, __cached__, __doc__, __annotations__)
print(sorted(globals()), type(__loader__).__name__, __loader__.name, __loader__.path, type(__builtins__).__name__)
import __main__
print(__main__.__dict__ is globals(), sys.stdin.read())`,
  },
  {
    name: 'an uncaught exception, chained, from a nested call',
    code: `def inner():
    raise ValueError("deep")
def outer():
    try:
        inner()
    except ValueError as e:
        raise KeyError("outer") from e
print("before", flush=True)
outer()`,
  },
  { name: 'a syntax error', code: 'print("never")\nx = (1,\n' },
  { name: 'sys.exit with a code', code: 'import sys\nprint("bye")\nsys.exit(3)' },
  { name: 'sys.exit with a message', code: 'import sys\nsys.exit("fatal: stop")' },
  { name: 'an uncaught KeyboardInterrupt', code: 'print("x", flush=True)\nraise KeyboardInterrupt' },
  {
    name: 'pickle, inspect, warnings, atexit and __del__ order',
    code: `import atexit, inspect, pickle, warnings
class Point:
    def __init__(self, x): self.x = x
    def __del__(self): print("del", self.x)
def f():
    return 1
p = Point(2)
print(pickle.loads(pickle.dumps(Point(1))).x, inspect.getsource(f).strip())
warnings.warn("careful")
atexit.register(lambda: print("atexit"))`,
  },
];

describe.skipIf(skip)('the python pre-start is invisible to the program', () => {
  it.each(FIDELITY)('$name: warm run = cold run', async ({ code }) => {
    const warmRuntime = await testRuntime();
    runtime = warmRuntime;
    const coldRuntime = await testRuntime({ warmSandboxes: 0 });
    try {
      const shape: Omit<RunCodeRequest, 'code'> = { language: 'python', policy: { sandbox: 'isolated' }, args: ['a', 'b c'], stdin: 'from stdin' };
      await warmRuntime.exec.runCode({ ...shape, code: 'pass' });
      await warmRuntime.exec.runCode({ ...shape, code: 'pass' });
      await standbyReady(warmRuntime);
      const warm = await warmRuntime.exec.runCode({ ...shape, code });
      const cold = await coldRuntime.exec.runCode({ ...shape, code });
      const seen = (r: ExecutionResult) => ({ status: r.status, exit_code: r.exit_code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error });
      expect(seen(warm)).toEqual(seen(cold));
      expect(cold.stdout + cold.stderr).not.toBe('');
    } finally {
      await coldRuntime.dispose();
    }
  });
});
