import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/schema.js';
import { HangarError } from '../src/runtime/errors.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { probeIsolation } from '../src/runtime/sandbox/bwrap.js';
import { tempDir } from './helpers/cli.js';
import { ancestry, procsUsing } from './helpers/procs.js';

const isolation = await probeIsolation();
if (!isolation.available && process.env.CI === 'true') throw new Error(`CI=true but bubblewrap does not work: ${isolation.reason}`);

/**
 * Real interpreters only: /usr/bin/python3, node, bash. Debian's matplotlib and ipykernel are system
 * packages, so the sessions that use them run in an environment made with system_site_packages.
 */
const SYSTEM_ENV = 'sys';
const HOST_ENV = { PATH: '/usr/bin:/bin' };

async function makeRuntime(dataDir: string, extra: Record<string, unknown> = {}): Promise<Runtime> {
  const runtime = await createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'silent', ...extra }), { hostEnv: HOST_ENV, interruptGraceMs: 1500 });
  if (!(await runtime.envs.list()).some((e) => e.name === SYSTEM_ENV)) await runtime.envs.create({ name: SYSTEM_ENV, systemSitePackages: true });
  return runtime;
}

/** Every live process whose command line mentions the data dir or a session id (leftovers). */
function processesMatching(text: string): string[] {
  const out = execFileSync('/bin/ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = execFileSync('/bin/cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<HangarError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HangarError);
  expect((error as HangarError).code).toBe(code);
  return error as HangarError;
}

/** Forks children that wait 30 s until the kernel refuses a fork; prints how many it got. */
const FORK_PAST_LIMIT = 'import os, time\nkids = []\ntry:\n    for _ in range(200):\n        pid = os.fork()\n        if pid == 0:\n            time.sleep(30)\n            os._exit(0)\n        kids.append(pid)\nexcept OSError as e:\n    print("refused after", len(kids), type(e).__name__)\nkids = len(kids)';

/**
 * A cell that forks past the session's process limit ends the interpreter and every child, and it
 * is that cell's result that says so (not whichever later cell a watch tick would land in).
 */
async function expectForkLimitEndsSession(runtime: Runtime, create: Parameters<Runtime['sessions']['create']>[0], limit: number): Promise<void> {
  const s = await runtime.sessions.create({ ...create, policy: { maxProcesses: limit } });
  expect((await runtime.sessions.execute(s.session_id, 'x = 1')).status).toBe('ok');
  const pid = runtime.sessions.list().find((x) => x.session_id === s.session_id)?.pid ?? 0;
  const r = await runtime.sessions.execute(s.session_id, FORK_PAST_LIMIT);
  if (runtime.cgroups.mode === 'none') {
    // rlimits only (root is not bound by RLIMIT_NPROC): nothing to end, the cell just ran.
    expect(process.env.CI).not.toBe('true');
    return;
  }
  expect(r.stdout).toMatch(/refused after \d+ (BlockingIOError|OSError)/);
  expect(r.status).toBe('killed');
  expect(r.state_lost).toBe(true);
  expect(r.error?.message).toContain(`process limit ${limit} reached (fork refused): the interpreter and every process it started were ended`);
  expect(alive(pid)).toBe(false);
  expect(runtime.sessions.list().find((x) => x.session_id === s.session_id)?.status).toBe('dead');
  expect((await expectCode(runtime.sessions.execute(s.session_id, 'x'), 'KERNEL_DIED')).message).toContain('fork refused');
  await runtime.sessions.restart(s.session_id);
  expect((await runtime.sessions.execute(s.session_id, '2 + 2')).result).toBe('4');
  await runtime.sessions.destroy(s.session_id);
}

describe('builtin python driver', () => {
  let runtime: Runtime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir();
    runtime = await makeRuntime(dataDir);
  });
  afterAll(async () => {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps state across calls and returns the last expression', async () => {
    const s = await runtime.sessions.create({ name: 'state' });
    expect(s.status).toBe('idle');
    const first = await runtime.sessions.execute(s.session_id, 'x = 41\nimport os\nprint("hello")');
    expect(first.status).toBe('ok');
    expect(first.stdout).toBe('hello\n');
    expect(first.result).toBeNull();
    const second = await runtime.sessions.execute(s.session_id, 'x + 1');
    expect(second.result).toBe('42');
    expect(second.execution_count).toBe(2);
    const err = await runtime.sessions.execute(s.session_id, 'import sys\nsys.stderr.write("warn\\n")\nos.system("echo from-child")');
    expect(err.stderr).toBe('warn\n');
    expect(err.stdout).toBe('from-child\n');
    expect(err.result).toBe('0');
  });

  it('reports exceptions without the driver frames', async () => {
    const s = await runtime.sessions.create({});
    const r = await runtime.sessions.execute(s.session_id, 'def f():\n    return 1/0\nf()');
    expect(r.status).toBe('error');
    expect(r.error?.name).toBe('ZeroDivisionError');
    expect(r.error?.message).toBe('division by zero');
    expect(r.error?.traceback).toContain('line 2, in f');
    expect(r.error?.traceback).not.toContain('python_driver');
    const syntax = await runtime.sessions.execute(s.session_id, 'def (');
    expect(syntax.error?.name).toBe('SyntaxError');
    // A failed cell is not history; the session still works.
    expect((await runtime.sessions.execute(s.session_id, '2 * 21')).result).toBe('42');
    expect(runtime.sessions.list().find((x) => x.session_id === s.session_id)?.history_cells).toBe(1);
  });

  it('a long session of simple cells stays the same size, and functions keep their source for tracebacks', async () => {
    const s = await runtime.sessions.create({});
    await runtime.sessions.execute(s.session_id, 'def f():\n    return 1/0');
    await runtime.sessions.execute(s.session_id, 'try:\n    f()\nexcept ZeroDivisionError as e:\n    saved = e');
    for (let i = 0; i < 300; i++) await runtime.sessions.execute(s.session_id, i === 0 ? 'x = 0' : 'x += 1');
    // One source entry per cell used to stay forever (≈ 0.3 KiB each): only the cells that left code or a handler behind keep theirs.
    const kept = await runtime.sessions.execute(s.session_id, 'import linecache\nsorted(k for k in linecache.cache if k.startswith("<cell"))');
    // (The asking cell keeps its own: its generator expression is code that points at it.)
    expect(kept.result).toBe("['<cell 1>', '<cell 2>', '<cell 303>']");
    const late = await runtime.sessions.execute(s.session_id, 'f()');
    expect(late.error?.traceback).toContain('return 1/0');
    const printed = await runtime.sessions.execute(s.session_id, 'import traceback\nprint("".join(traceback.format_exception(saved)))');
    expect(printed.stdout).toContain('return 1/0');
    await runtime.sessions.destroy(s.session_id);
  });

  it('gives rich outputs: display(), _repr_html_, matplotlib figures as PNG', async () => {
    const s = await runtime.sessions.create({ envId: SYSTEM_ENV });
    const r = await runtime.sessions.execute(
      s.session_id,
      'class H:\n    def _repr_html_(self): return "<b>hi</b>"\n    def _repr_markdown_(self): return "**hi**"\ndisplay(H())\n' +
        'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nfig2 = plt.figure(); plt.bar([1], [2])\n"done"',
    );
    expect(r.status).toBe('ok');
    expect(r.outputs.map((o) => o.mime)).toEqual(['text/markdown', 'image/png', 'image/png']);
    const png = Buffer.from(r.outputs[1]?.data ?? '', 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(r.result).toBe("'done'");
    // Figures are closed after the cell: the next cell returns no stale image.
    expect((await runtime.sessions.execute(s.session_id, '1')).outputs).toEqual([]);
  });

  it('interrupts while True: pass and time.sleep(100) on timeout, and the session keeps its state', async () => {
    const s = await runtime.sessions.create({});
    await runtime.sessions.execute(s.session_id, 'kept = "yes"');
    const spin = await runtime.sessions.execute(s.session_id, 'while True: pass', { timeoutS: 1 });
    expect(spin.status).toBe('timeout');
    expect(spin.state_lost).toBe(false);
    expect(spin.error?.name).toBe('Timeout');
    const sleep = await runtime.sessions.execute(s.session_id, 'import time\ntime.sleep(100)', { timeoutS: 1 });
    expect(sleep.status).toBe('timeout');
    expect(sleep.duration_ms).toBeLessThan(10_000);
    expect((await runtime.sessions.execute(s.session_id, 'kept')).result).toBe("'yes'");
  });

  it('repl_interrupt stops a running cell from another call', async () => {
    const s = await runtime.sessions.create({});
    const running = runtime.sessions.execute(s.session_id, 'import time\nfor i in range(1000): time.sleep(0.1)');
    await new Promise((r) => setTimeout(r, 500));
    expect(runtime.sessions.list().find((x) => x.session_id === s.session_id)?.status).toBe('busy');
    expect((await runtime.sessions.interrupt(s.session_id)).interrupted).toBe(true);
    const r = await running;
    expect(r.error?.name).toBe('KeyboardInterrupt');
    expect((await runtime.sessions.execute(s.session_id, 'i > 0')).result).toBe('True');
  });

  it('kills and restarts an interpreter that ignores the interrupt, and says state was lost', async () => {
    const s = await runtime.sessions.create({});
    await runtime.sessions.execute(s.session_id, 'kept = 1');
    const before = runtime.sessions.list().find((x) => x.session_id === s.session_id)?.pid ?? 0;
    const r = await runtime.sessions.execute(s.session_id, 'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass', { timeoutS: 1 });
    expect(r.status).toBe('timeout');
    expect(r.state_lost).toBe(true);
    expect(r.warnings.join(' ')).toContain('state lost');
    expect(alive(before)).toBe(false);
    const after = await runtime.sessions.execute(s.session_id, 'kept');
    expect(after.error?.name).toBe('NameError');
  });

  it('os._exit and a segfault give KERNEL_DIED; repl_restart brings the session back', async () => {
    const s = await runtime.sessions.create({});
    await expectCode(runtime.sessions.execute(s.session_id, 'import os\nos._exit(3)'), 'KERNEL_DIED');
    expect(runtime.sessions.list().find((x) => x.session_id === s.session_id)?.status).toBe('dead');
    await expectCode(runtime.sessions.execute(s.session_id, '1'), 'KERNEL_DIED');
    await runtime.sessions.restart(s.session_id);
    const segv = await expectCode(runtime.sessions.execute(s.session_id, 'import ctypes\nctypes.string_at(0)'), 'KERNEL_DIED');
    expect(segv.message).toContain('segmentation fault');
    const info = await runtime.sessions.restart(s.session_id);
    expect(info.status).toBe('idle');
    expect((await runtime.sessions.execute(s.session_id, '6 * 7')).result).toBe('42');
  });

  it('a cell that forks past the process limit ends the session, and says so in its own result', async () => {
    await expectForkLimitEndsSession(runtime, {}, 16);
  });

  it('destroy_environment ends the sessions of that environment first', async () => {
    const env = await runtime.envs.create({ name: 'short-lived' });
    const s = await runtime.sessions.create({ envId: env.env_id });
    expect((await runtime.sessions.execute(s.session_id, '40 + 2')).result).toBe('42');
    const pid = runtime.sessions.list().find((x) => x.session_id === s.session_id)?.pid;
    expect(pid).toBeGreaterThan(0);
    await runtime.envs.destroy(env.env_id);
    expect(runtime.sessions.list().some((x) => x.session_id === s.session_id)).toBe(false);
    await expectCode(runtime.sessions.execute(s.session_id, '1'), 'SESSION_NOT_FOUND');
    expect(alive(pid ?? -1)).toBe(false);
  });

  it('queues calls to one session in order and runs 20 sessions in parallel', async () => {
    const s = await runtime.sessions.create({});
    await runtime.sessions.execute(s.session_id, 'seen = []');
    const queued = await Promise.all(Array.from({ length: 10 }, (_, i) => runtime.sessions.execute(s.session_id, `seen.append(${i})\nlen(seen)`)));
    expect(queued.map((r) => r.result)).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 1)));

    const many = await Promise.all(Array.from({ length: 20 }, () => runtime.sessions.create({})));
    const started = performance.now();
    const results = await Promise.all(many.map((m, i) => runtime.sessions.execute(m.session_id, `import time\ntime.sleep(1)\n${i}`)));
    expect(results.map((r) => r.result)).toEqual(many.map((_, i) => String(i)));
    // Twenty one-second cells in parallel, not in series.
    expect(performance.now() - started).toBeLessThan(15_000);
    const pids = runtime.sessions.list().filter((x) => many.some((m) => m.session_id === x.session_id)).map((x) => x.pid ?? 0);
    await Promise.all(many.map((m) => runtime.sessions.destroy(m.session_id)));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('destroy ends the interpreter and everything it started', async () => {
    const s = await runtime.sessions.create({});
    // A pid printed inside the sandbox is a pid of its own namespace: find the child by a unique argument instead.
    const mark = `1000.${randomBytes(4).readUInt32BE()}`;
    await runtime.sessions.execute(s.session_id, `import subprocess\np = subprocess.Popen(["/bin/sleep", "${mark}"], start_new_session=True)`);
    const pid = runtime.sessions.list().find((x) => x.session_id === s.session_id)?.pid ?? 0;
    expect(processesMatching(`sleep ${mark}`)).toHaveLength(1);
    await runtime.sessions.destroy(s.session_id);
    expect(alive(pid)).toBe(false);
    expect(processesMatching(`sleep ${mark}`)).toEqual([]);
    await expectCode(runtime.sessions.execute(s.session_id, '1'), 'SESSION_NOT_FOUND');
  });

  it('rejects unknown languages and kernels with the installed list', async () => {
    const lang = await expectCode(runtime.sessions.create({ language: 'cobol' }), 'LANGUAGE_UNAVAILABLE');
    expect(lang.message).toContain('python3');
    const kernel = await expectCode(runtime.sessions.create({ kernel: 'nope' }), 'LANGUAGE_UNAVAILABLE');
    expect(kernel.message).toContain('installed: python3');
    await expectCode(runtime.sessions.create({ envId: 'missing' }), 'ENV_NOT_FOUND');
  });
});

describe('ipykernel through a kernelspec', () => {
  let runtime: Runtime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir();
    runtime = await makeRuntime(dataDir);
  });
  afterAll(async () => {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs cells with state, streams, results, errors and inline plots', async () => {
    const specs = await runtime.sessions.kernelSpecs();
    expect(specs.map((s) => s.name)).toContain('python3');
    const s = await runtime.sessions.create({ kernel: 'python3', envId: SYSTEM_ENV });
    expect(s.backend).toBe('kernel');
    const r = await runtime.sessions.execute(s.session_id, 'y = 2\nprint("k")\ny * 21');
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('k\n');
    expect(r.result).toBe('42');
    expect(r.execution_count).toBe(1);
    const e = await runtime.sessions.execute(s.session_id, 'undefined_name');
    expect(e.status).toBe('error');
    expect(e.error?.name).toBe('NameError');
    expect(e.error?.traceback).not.toMatch(/\u001b\[/);
    const plot = await runtime.sessions.execute(s.session_id, 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()');
    const seen = JSON.stringify({ status: plot.status, stdout: plot.stdout, stderr: plot.stderr, error: plot.error, mimes: plot.outputs.map((o) => o.mime) });
    expect(plot.status, seen).toBe('ok');
    expect(plot.outputs.map((o) => o.mime), seen).toContain('image/png');
    const sleep = await runtime.sessions.execute(s.session_id, 'import time\ntime.sleep(100)', { timeoutS: 1 });
    expect(sleep.status).toBe('timeout');
    expect((await runtime.sessions.execute(s.session_id, 'y')).result).toBe('2');
  });

  it('a cell right after an error runs (never aborted), and IPython runs with Hangar\'s settings', async () => {
    const s = await runtime.sessions.create({ kernel: 'python3', envId: SYSTEM_ENV });
    // With stop_on_error, ipykernel aborts what arrives just after an error: a race Hangar must not have.
    for (let i = 0; i < 20; i++) {
      expect((await runtime.sessions.execute(s.session_id, '1/0')).error?.name).toBe('ZeroDivisionError');
      const next = await runtime.sessions.execute(s.session_id, `${i} + 1`);
      expect(next.status, JSON.stringify(next.error)).toBe('ok');
      expect(next.result).toBe(String(i + 1));
    }
    // The kernel's own sqlite history is off (Hangar keeps the session's history) and so is the post-cell sleep.
    const settings = await runtime.sessions.execute(s.session_id, 'ip = get_ipython()\n(ip.history_manager.enabled, ip.kernel._execute_sleep)');
    expect(settings.result).toBe('(False, 0.0)');
    await runtime.sessions.destroy(s.session_id);
  });

  it('a print of many MB arrives as one message and is decoded in chunks: every byte counted and kept', async () => {
    const s = await runtime.sessions.create({ kernel: 'python3', envId: SYSTEM_ENV });
    // Every kind of JSON escape and multi-byte UTF-8, 11 bytes a piece, 6.6 MB in one write.
    const code = String.raw`import sys
piece = 'é"\\\t\x01' + chr(0x1F600) + 'x'
sys.stdout.write('START' + piece * 600000 + 'END')`;
    const piece = 'é"\\\t\u0001😀x';
    const expected = Buffer.from(`START${piece.repeat(600000)}END`, 'utf8');
    const r = await runtime.sessions.execute(s.session_id, code);
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.truncated?.stdout_bytes).toBe(expected.length);
    expect(r.stdout.startsWith(`START${piece}`)).toBe(true);
    expect(r.stdout.endsWith(`${piece}END`)).toBe(true);
    const kept = await runtime.content.readBytes(r.truncated?.stdout_ref_id ?? '', 0, expected.length + 10);
    expect(kept.bytes.equals(expected)).toBe(true);
    expect((await runtime.sessions.execute(s.session_id, '1 + 1')).result).toBe('2');
    await runtime.sessions.destroy(s.session_id);
  });

  it('a kernel that dies gives KERNEL_DIED and restarts', async () => {
    const s = await runtime.sessions.create({ kernel: 'python3', envId: SYSTEM_ENV });
    await expectCode(runtime.sessions.execute(s.session_id, 'import os\nos._exit(1)'), 'KERNEL_DIED');
    await runtime.sessions.restart(s.session_id);
    await expectCode(runtime.sessions.execute(s.session_id, 'import ctypes\nctypes.string_at(0)'), 'KERNEL_DIED');
    await runtime.sessions.restart(s.session_id);
    expect((await runtime.sessions.execute(s.session_id, '1 + 1')).result).toBe('2');
    const pid = runtime.sessions.list().find((x) => x.session_id === s.session_id)?.pid ?? 0;
    await runtime.sessions.destroy(s.session_id);
    expect(alive(pid)).toBe(false);
  });

  it('a cell that forks past the process limit ends the kernel, and says so in its own result', async () => {
    // The kernel's own threads count against the limit too.
    await expectForkLimitEndsSession(runtime, { kernel: 'python3', envId: SYSTEM_ENV }, 48);
  });
});

describe('restore after a restart', () => {
  it('lists sessions as dormant, replays history on the next cell, honours replay:false, and leaves no process', async () => {
    const dataDir = await tempDir();
    const first = await makeRuntime(dataDir);
    const replayed = await first.sessions.create({ name: 'keep' });
    const noReplay = await first.sessions.create({ name: 'fresh', replay: false });
    await first.sessions.execute(replayed.session_id, 'a = 1');
    await first.sessions.execute(replayed.session_id, 'a += 1');
    await first.sessions.execute(replayed.session_id, '1/0');
    await first.sessions.execute(noReplay.session_id, 'b = 1');
    const pids = first.sessions.list().map((s) => s.pid ?? 0);
    expect((await procsUsing(dataDir)).length).toBeGreaterThan(0);
    await first.close();
    expect(pids.filter(alive)).toEqual([]);
    expect(await procsUsing(dataDir)).toEqual([]);

    const second = await makeRuntime(dataDir);
    try {
      expect(second.sessions.list().map((s) => s.status)).toEqual(['dormant', 'dormant']);
      const r = await second.sessions.execute(replayed.session_id, 'a');
      expect(r.result).toBe('2');
      expect(r.replayed_cells).toBe(2);
      expect(r.warnings[0]).toBe('restored: 2 cells replayed');
      const fresh = await second.sessions.execute(noReplay.session_id, "'b' in dir()");
      expect(fresh.result).toBe('False');
      expect(fresh.warnings.join(' ')).toContain('replay is off');
    } finally {
      await second.close();
    }
    // History appends are off the reply path; close waits for them.
    const history = await readFile(`${dataDir}/sessions/${replayed.session_id}/history.jsonl`, 'utf8');
    expect(history.trim().split('\n')).toHaveLength(3);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('idle sessions become dormant and come back by replay; --max-sessions is enforced', async () => {
    const dataDir = await tempDir();
    const runtime = await makeRuntime(dataDir, { sessionIdleTimeout: 0.5, maxSessions: 1 });
    try {
      const s = await runtime.sessions.create({});
      await runtime.sessions.execute(s.session_id, 'z = 5');
      await expectCode(runtime.sessions.create({}), 'LIMIT_EXCEEDED');
      await new Promise((r) => setTimeout(r, 1500));
      expect(runtime.sessions.list()[0]?.status).toBe('dormant');
      const r = await runtime.sessions.execute(s.session_id, 'z')
      expect(r.result).toBe('5');
      expect(r.replayed_cells).toBe(1);
    } finally {
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!isolation.available)('sessions at level isolated (bubblewrap)', () => {
  let runtime: Runtime;
  let dataDir: string;
  let tcp: Server;
  let tcpPort = 0;
  let connections = 0;
  beforeAll(async () => {
    dataDir = await tempDir();
    runtime = await makeRuntime(dataDir);
    tcp = createServer((socket) => {
      connections++;
      socket.end('hello');
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as { port: number }).port;
  });
  afterAll(async () => {
    await runtime.close();
    await new Promise((resolve) => tcp.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is the default: state persists, the workspace is /workspace and shared with the host, the environment is read-only, /tmp is private', async () => {
    const s = await runtime.sessions.create({ envId: SYSTEM_ENV });
    expect(s.sandbox).toEqual({ level: 'isolated', network: 'off' });
    const env = await runtime.envs.get(SYSTEM_ENV);
    const a = await runtime.sessions.execute(s.session_id, 'import os, sys, site\nn = 41\nopen("from-session.txt", "w").write("hi")\nprint(os.getcwd(), os.environ["HOME"], os.environ["TMPDIR"])\nsys.prefix');
    expect(a.status).toBe('ok');
    expect(a.sandbox.level).toBe('isolated');
    expect(a.sandbox.network).toBe('off');
    expect(a.stdout).toBe('/workspace /workspace /tmp\n');
    expect(a.result).toBe(`'${env.env_path}'`);
    expect(await readFile(path.join(env.workspace_path, 'from-session.txt'), 'utf8')).toBe('hi');
    expect((await runtime.sessions.execute(s.session_id, 'n + 1')).result).toBe('42');
    const write = await runtime.sessions.execute(s.session_id, 'open(os.path.join(site.getsitepackages()[0], "evil.py"), "w")');
    expect(write.status).toBe('error');
    expect(write.error?.name).toMatch(/^(OSError|PermissionError)$/);
    expect(write.error?.message).toContain('Read-only file system');
    // The host's data directory and home are not there; /tmp is the sandbox's own.
    const hidden = await runtime.sessions.execute(s.session_id, `[os.path.exists(p) for p in (${JSON.stringify(dataDir)} + "/audit.log", "/root", "/etc/shadow")]`);
    expect(hidden.result).toBe('[False, False, False]');
  });

  it('network off: a loopback TCP server the test runs is unreachable from a session', async () => {
    const s = await runtime.sessions.create({});
    const r = await runtime.sessions.execute(s.session_id, `import socket\nsocket.create_connection(("127.0.0.1", ${tcpPort}), timeout=3)`);
    expect(r.status).toBe('error');
    expect(r.error?.name).toMatch(/^(ConnectionRefusedError|OSError)$/);
    expect(connections).toBe(0);
  });

  it('interrupts while True: pass and time.sleep(100) inside the pid namespace; after a timeout the session still works', async () => {
    const s = await runtime.sessions.create({});
    await runtime.sessions.execute(s.session_id, 'kept = "yes"');
    const spin = await runtime.sessions.execute(s.session_id, 'while True: pass', { timeoutS: 1 });
    expect(spin.status).toBe('timeout');
    expect(spin.state_lost).toBe(false);
    expect(spin.sandbox.limits.timeout_s).toBe(1);
    const sleep = await runtime.sessions.execute(s.session_id, 'import time\ntime.sleep(100)', { timeoutS: 1 });
    expect(sleep.status).toBe('timeout');
    expect(sleep.state_lost).toBe(false);
    expect(sleep.error?.traceback).toContain('KeyboardInterrupt');
    const running = runtime.sessions.execute(s.session_id, 'for i in range(1000): time.sleep(0.1)');
    await new Promise((r) => setTimeout(r, 500));
    expect((await runtime.sessions.interrupt(s.session_id)).interrupted).toBe(true);
    expect((await running).error?.name).toBe('KeyboardInterrupt');
    expect((await runtime.sessions.execute(s.session_id, 'kept')).result).toBe("'yes'");
  });

  it('bash and javascript drivers run isolated too, and are interruptible', async () => {
    const bash = await runtime.sessions.create({ language: 'bash' });
    const b = await runtime.sessions.execute(bash.session_id, 'V=1; pwd; id -u');
    expect(b.stdout).toBe('/workspace\n65534\n');
    expect((await runtime.sessions.execute(bash.session_id, 'sleep 100', { timeoutS: 1 })).status).toBe('timeout');
    expect((await runtime.sessions.execute(bash.session_id, 'echo $V')).stdout).toBe('1\n');
    const js = await runtime.sessions.create({ language: 'javascript' });
    expect((await runtime.sessions.execute(js.session_id, 'process.cwd()')).result).toBe("'/workspace'");
    expect((await runtime.sessions.execute(js.session_id, 'while (true) {}', { timeoutS: 1 })).status).toBe('timeout');
    expect((await runtime.sessions.execute(js.session_id, '6 * 7')).result).toBe('42');
  });

  it('os._exit and a segfault give KERNEL_DIED (bubblewrap\'s 128+N exit read as the signal)', async () => {
    const s = await runtime.sessions.create({});
    const exit = await expectCode(runtime.sessions.execute(s.session_id, 'import os\nos._exit(3)'), 'KERNEL_DIED');
    expect(exit.message).toContain('exited with code 3');
    await runtime.sessions.restart(s.session_id);
    const segv = await expectCode(runtime.sessions.execute(s.session_id, 'import ctypes\nctypes.string_at(0)'), 'KERNEL_DIED');
    expect(segv.message).toContain('segmentation fault');
    await runtime.sessions.restart(s.session_id);
    expect((await runtime.sessions.execute(s.session_id, '1 + 1')).result).toBe('2');
  });

  it('a memory_mb limit on a session ends it with a clear reason', async () => {
    const s = await runtime.sessions.create({ policy: { memoryMb: 100 } });
    const small = await runtime.sessions.execute(s.session_id, 'len(b"x" * (10 * 1024 * 1024))');
    expect(small.sandbox.limits.memory_mb).toBe(100);
    expect(small.result).toBe(String(10 * 1024 * 1024));
    const big = runtime.sessions.execute(s.session_id, 'blob = b"x" * (400 * 1024 * 1024)');
    if (runtime.cgroups.mode === 'none') {
      // rlimits only: the allocation fails inside the interpreter.
      expect((await big).error?.name).toBe('MemoryError');
    } else {
      const died = await expectCode(big, 'KERNEL_DIED');
      expect(died.message).toContain('memory limit 100 MB exceeded');
      expect(runtime.sessions.list().find((x) => x.session_id === s.session_id)?.status).toBe('dead');
    }
  });

  it('asks for nothing weaker than the operator allows', async () => {
    await expectCode(runtime.sessions.create({ policy: { memoryMb: 1_000_000 } }), 'POLICY_DENIED');
    await expectCode(runtime.sessions.execute((await runtime.sessions.create({})).session_id, '1', { timeoutS: 1_000_000 }), 'POLICY_DENIED');
    const processLevel = await runtime.sessions.create({ policy: { sandbox: 'process' } });
    expect(processLevel.sandbox?.level).toBe('process');
    const r = await runtime.sessions.execute(processLevel.session_id, 'import os\nos.getcwd() == "/workspace"');
    expect(r.result).toBe('False');
    expect(r.sandbox.level).toBe('process');
    expect(r.warnings.join(' ')).toContain('network "off" cannot be enforced');
  });

  it('ipykernel through its kernelspec runs inside the sandbox over ipc sockets', async () => {
    const s = await runtime.sessions.create({ kernel: 'python3', envId: SYSTEM_ENV });
    expect(s.sandbox?.level).toBe('isolated');
    const r = await runtime.sessions.execute(s.session_id, 'import os, ipykernel.connect\nprint(os.getcwd())\nipykernel.connect.get_connection_file()');
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('/workspace\n');
    expect(r.result).toBe("'/run/hangar/kernel.json'");
    const net = await runtime.sessions.execute(s.session_id, `import socket\nsocket.create_connection(("127.0.0.1", ${tcpPort}), timeout=3)`);
    expect(net.status).toBe('error');
    expect(connections).toBe(0);
    const sleep = await runtime.sessions.execute(s.session_id, 'import time\ntime.sleep(100)', { timeoutS: 1 });
    expect(sleep.status).toBe('timeout');
    expect(sleep.state_lost).toBe(false);
    await expectCode(runtime.sessions.execute(s.session_id, 'import os\nos._exit(1)'), 'KERNEL_DIED');
    const info = await runtime.sessions.restart(s.session_id);
    expect((await runtime.sessions.execute(s.session_id, '3 * 3')).result).toBe('9');
    await runtime.sessions.destroy(s.session_id);
    expect(alive(info.pid ?? 0)).toBe(false);
  });

  it('destroy leaves no process, not even a detached child inside the sandbox', async () => {
    const s = await runtime.sessions.create({});
    const mark = `2000.${randomBytes(4).readUInt32BE()}`;
    await runtime.sessions.execute(s.session_id, `import os, subprocess\nif os.fork() == 0:\n    os.setsid()\n    subprocess.Popen(["/bin/sleep", "${mark}"])\n    os._exit(0)`);
    await new Promise((r) => setTimeout(r, 300));
    expect(processesMatching(`sleep ${mark}`)).toHaveLength(1);
    const pid = runtime.sessions.list().find((x) => x.session_id === s.session_id)?.pid ?? 0;
    // The interpreter, bubblewrap's init and bubblewrap itself (and the launcher, where it stays).
    const chain = await ancestry(pid);
    expect(chain.length).toBeGreaterThanOrEqual(3);
    await runtime.sessions.destroy(s.session_id);
    expect(chain.filter(alive)).toEqual([]);
    expect(processesMatching(`sleep ${mark}`)).toEqual([]);
  });
});

describe.skipIf(!isolation.available)('session policy across restarts and operator settings', () => {
  it('a restored session comes back with the policy it was created with', async () => {
    const dataDir = await tempDir();
    const first = await makeRuntime(dataDir);
    const s = await first.sessions.create({ policy: { memoryMb: 300, timeoutS: 7, maxProcesses: 40, network: 'off' } });
    expect((await first.sessions.execute(s.session_id, 'a = 1')).sandbox.limits).toMatchObject({ memory_mb: 300, timeout_s: 7, max_processes: 40 });
    await first.close();
    const stored = JSON.parse(await readFile(path.join(dataDir, 'sessions', s.session_id, 'session.json'), 'utf8')) as { data: { policy: unknown } };
    expect(stored.data.policy).toEqual({ memoryMb: 300, timeoutS: 7, maxProcesses: 40, network: 'off' });
    const second = await makeRuntime(dataDir);
    try {
      expect(second.sessions.list()[0]).toMatchObject({ status: 'dormant', sandbox: null });
      const r = await second.sessions.execute(s.session_id, 'a + 1');
      expect(r.result).toBe('2');
      expect(r.replayed_cells).toBe(1);
      expect(r.sandbox).toMatchObject({ level: 'isolated', network: 'off' });
      expect(r.sandbox.limits).toMatchObject({ memory_mb: 300, timeout_s: 7, max_processes: 40 });
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('an operator who demands --sandbox isolated gets isolated sessions (and process is denied)', async () => {
    const dataDir = await tempDir();
    const runtime = await makeRuntime(dataDir, { sandbox: 'isolated' });
    try {
      const s = await runtime.sessions.create({});
      expect(s.sandbox?.level).toBe('isolated');
      expect((await runtime.sessions.execute(s.session_id, 'import os\nos.getcwd()')).result).toBe("'/workspace'");
      await expectCode(runtime.sessions.create({ policy: { sandbox: 'process' } }), 'POLICY_DENIED');
    } finally {
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
