import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { collectExit, type ExitResult } from '../helpers/http.js';
import { isAlive, marker, waitNoProcs, waitProcs } from '../helpers/procs.js';

let dataDir = '';
beforeAll(async () => {
  dataDir = await tempDir();
});
afterAll(async () => rm(dataDir, { recursive: true, force: true }));

function hangar(args: string[], options: { env?: Record<string, string>; stdin?: string; withDataDir?: boolean } = {}): Promise<ExitResult> {
  const full = options.withDataDir === false ? args : [...args, '--data-dir', dataDir];
  const child = spawn(process.execPath, [CLI, ...full], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = collectExit(child);
  child.stdin.end(options.stdin ?? '');
  return done;
}

function expectUsageError(r: ExitResult, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^hangar: /);
  expect(lines[0]).toMatch(pattern);
}

describe('hangar run', () => {
  it('prints the output and exits with the program\'s code', async () => {
    expect(await hangar(['run', 'print(6*7)'])).toMatchObject({ code: 0, stdout: '42\n', stderr: '' });
    const failed = await hangar(['run', 'import sys; print("bye", file=sys.stderr); sys.exit(3)']);
    expect(failed).toMatchObject({ code: 3, stdout: '', stderr: 'bye\n' });
    expect(await hangar(['run', '--language', 'bash', 'echo "$0" >/dev/null; echo hi; exit 4'])).toMatchObject({ code: 4, stdout: 'hi\n' });
    expect(await hangar(['run', '-l', 'sh', '-'], { stdin: 'echo from-stdin' })).toMatchObject({ code: 0, stdout: 'from-stdin\n' });
    expect(await hangar(['run', '--stdin', 'abc', 'print(input().upper())'])).toMatchObject({ code: 0, stdout: 'ABC\n' });
  });

  it('exits 124 on timeout and leaves no process', async () => {
    const m = marker();
    const started = Date.now();
    const r = await hangar(['run', '--timeout', '1', `# ${m}\nimport subprocess, sys\nsubprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "${m}"])\nwhile True: pass`]);
    expect(r.code).toBe(124);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await waitNoProcs(m, 1000)).toEqual([]);
  });

  it('refuses bad use with exit 2 and one line', async () => {
    expectUsageError(await hangar(['run']), /CODE/);
    expectUsageError(await hangar(['run', '--timeout', 'soon', 'print(1)']), /--timeout/);
    expect((await hangar(['run', '--language', 'cobol', 'x'])).code).toBe(2);
  });
});

describe('hangar doctor, --version, --help, bad flags', () => {
  it('doctor names python, bubblewrap, cgroups and git', async () => {
    const r = await hangar(['doctor']);
    expect(r.code).toBe(0);
    for (const word of ['python', 'javascript', 'bubblewrap', 'cgroups', 'git']) expect(r.stdout).toContain(word);
    expect(r.stdout).toMatch(/python\s+3\.\d+/);
    const json = await hangar(['doctor', '--json']);
    const report = JSON.parse(json.stdout) as { languages: { id: string; available: boolean }[]; git: { found: boolean } };
    expect(report.languages.find((l) => l.id === 'python')?.available).toBe(true);
    expect(report.git.found).toBe(true);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(path.resolve(path.dirname(CLI), '../package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) expect(await hangar([flag], { withDataDir: false })).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('--help lists commands, flags and their variables', async () => {
    const r = await hangar(['--help'], { withDataDir: false });
    expect(r.code).toBe(0);
    for (const text of ['hangar run', 'hangar doctor', '--transport', '--auth-token', 'HANGAR_AUTH_TOKEN', '--stateless', '--tls-cert', '--data-dir', 'HANGAR_HOME', '--toolsets', '--config']) {
      expect(r.stdout).toContain(text);
    }
    expect((await hangar(['serve', '--help'], { withDataDir: false })).code).toBe(0);
  });

  it('a bad flag, command or value is exit 2 with one line', async () => {
    expectUsageError(await hangar(['--no-such-flag']), /no-such-flag/);
    expectUsageError(await hangar(['frobnicate']), /unknown command/);
    expectUsageError(await hangar(['serve', '--transport', 'carrier-pigeon']), /--transport/);
    expectUsageError(await hangar(['serve', '--max-output-chars', 'lots']), /--max-output-chars/);
    expectUsageError(await hangar(['serve', '--config', path.join(dataDir, 'missing.json')]), /no such file/);
    expectUsageError(await hangar(['serve', '--transport', 'http', '--auth-token', 'short']), /--auth-token/);
  });

  it('refuses to bind 0.0.0.0 without a token (exit 2, one line)', async () => {
    expectUsageError(await hangar(['serve', '--transport', 'http', '--addr', '0.0.0.0:0']), /--auth-token/);
    expectUsageError(await hangar(['serve'], { env: { HANGAR_TRANSPORT: 'http', HANGAR_ADDR: '0.0.0.0:0' } }), /auth-token/);
  });
});

describe('a server that cannot start its runtime', () => {
  it('says why on stderr and exits 1, even while its client keeps stdin open', async () => {
    // A regular file stands where a directory must be: the data directory cannot be made.
    const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', '/etc/passwd/hangar-data'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const r = await collectExit(child);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hangar error: could not start: ENOTDIR/);
  });
});

describe('configuration precedence: file < HANGAR_* < flags', () => {
  // 10,000 characters of output cut to a cap C show "(10000 - C) bytes of stdout hidden": C is observable.
  const code = 'print("a" * 10000, end="")';
  const hidden = (r: ExitResult): number => Number(/\[(\d+) bytes of stdout hidden/.exec(r.stdout)?.[1]);

  it('the file applies, a variable beats it, a flag beats both', async () => {
    const file = path.join(dataDir, 'config.json');
    await writeFile(file, JSON.stringify({ maxOutputChars: 300, 'default-timeout': 30 }));
    expect(hidden(await hangar(['run', '--config', file, code]))).toBe(9700);
    expect(hidden(await hangar(['run', '--config', file, code], { env: { HANGAR_MAX_OUTPUT_CHARS: '400' } }))).toBe(9600);
    expect(hidden(await hangar(['run', '--config', file, '--max-output-chars', '500', code], { env: { HANGAR_MAX_OUTPUT_CHARS: '400' } }))).toBe(9500);
    // And the file's other key took effect: a default timeout from the file kills a long run.
    await writeFile(file, JSON.stringify({ defaultTimeout: 1 }));
    expect((await hangar(['run', '--config', file, 'import time; time.sleep(30)'])).code).toBe(124);
  });

  it('an unknown key in the file is exit 2 naming it', async () => {
    const file = path.join(dataDir, 'bad.json');
    await writeFile(file, JSON.stringify({ maxOutputChar: 300 }));
    expectUsageError(await hangar(['serve', '--config', file]), /maxOutputChar/);
  });
});

describe('server shutdown', () => {
  const initialize = (id: number) => ({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });

  /** Starts `hangar serve` on stdio, speaks the protocol by hand, and leaves a long run going. */
  async function serverWithARun(): Promise<{ child: ReturnType<typeof spawn>; exit: Promise<ExitResult>; m: string }> {
    const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--log-level', 'warn'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exit = collectExit(child);
    const m = marker();
    const send = (message: unknown): void => void child.stdin.write(`${JSON.stringify(message)}\n`);
    send(initialize(1));
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'run_code',
        arguments: { code: 'import subprocess, sys, time\nsubprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", sys.argv[1]], start_new_session=True)\ntime.sleep(300)', args: [m] },
      },
    });
    expect(await waitProcs(m, 2)).toBeGreaterThanOrEqual(2);
    return { child, exit, m };
  }

  it('exits cleanly when stdin closes, ending its runs', async () => {
    const { child, exit, m } = await serverWithARun();
    const started = Date.now();
    child.stdin?.end();
    const r = await exit;
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isAlive(child.pid ?? -1)).toBe(false);
    expect(await waitNoProcs(m, 1000)).toEqual([]);
    expect(r.stdout).toContain('"id":1');
  });

  it('exits cleanly on SIGTERM, ending its runs', async () => {
    const { child, exit, m } = await serverWithARun();
    child.kill('SIGTERM');
    const r = await exit;
    expect(r.code).toBe(0);
    expect(await waitNoProcs(m, 1000)).toEqual([]);
    child.stdin?.destroy();
  });
});
