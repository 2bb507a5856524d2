import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, type StdioSession } from '../helpers/cli.js';
import { marker, procsWith, waitNoProcs } from '../helpers/procs.js';
import { exec, expectToolError } from '../helpers/results.js';

describe('run_code and execute_code', () => {
  let s: StdioSession;
  beforeAll(async () => {
    s = await startStdio();
  });
  afterAll(async () => s.close());

  it('returns stdout, stderr, exit code and the full result shape', async () => {
    const r = await exec(s.client, { code: 'import sys\nprint("out")\nprint("err", file=sys.stderr)' });
    expect(r).toMatchObject({ status: 'ok', exit_code: 0, signal: null, stdout: 'out\n', stderr: 'err\n', truncated: null, error: null });
    expect(r.duration_ms).toBeGreaterThan(0);
    expect(r.warnings).toEqual([]);
  });

  it('renders a compact text for the agent, not a JSON dump', async () => {
    const result = await s.client.callTool({ name: 'run_code', arguments: { code: 'print("hello")' } });
    const text = (result.content as { type: string; text: string }[])[0]?.text ?? '';
    expect(text).toMatch(/^hello\n\[ok: exit 0, \d+ ms\]$/);
  });

  it('reports exit codes of every language', async () => {
    expect(await exec(s.client, { code: 'import sys; sys.exit(3)' })).toMatchObject({ status: 'error', exit_code: 3, error: null });
    expect(await exec(s.client, { language: 'bash', code: 'echo "$BASH_VERSION" >/dev/null; exit 5' })).toMatchObject({ status: 'error', exit_code: 5 });
    expect(await exec(s.client, { language: 'sh', code: 'exit 6' })).toMatchObject({ status: 'error', exit_code: 6 });
    const js = await exec(s.client, { language: 'javascript', code: 'console.log(typeof process.versions.node); process.exit(7)' });
    expect(js).toMatchObject({ status: 'error', exit_code: 7, stdout: 'string\n' });
    expect(await exec(s.client, { language: 'py', code: 'print(1)' })).toMatchObject({ status: 'ok', stdout: '1\n' });
  });

  it('feeds stdin and passes args verbatim', async () => {
    const r = await exec(s.client, {
      code: 'import sys, json\nprint(sys.stdin.read().upper(), end="")\nprint(json.dumps(sys.argv[1:]))',
      stdin: 'héllo\nworld\n',
      args: ['a b', '--flag', 'ünï', '$HOME', ''],
    });
    expect(r.stdout).toBe('HÉLLO\nWORLD\n["a b", "--flag", "\\u00fcn\\u00ef", "$HOME", ""]\n');
  });

  it('writes files into the working directory first, importable by python', async () => {
    const r = await exec(s.client, {
      code: 'import os, helper\nprint(open("data/in.txt").read(), helper.VALUE, sorted(os.listdir(".")))',
      files: { 'data/in.txt': 'xyz', 'helper.py': 'VALUE = 5\n' },
    });
    expect(r.stdout).toBe("xyz 5 ['data', 'helper.py']\n");
  });

  it('refuses file paths outside the working directory', async () => {
    await expectToolError(s.client, 'run_code', { code: 'print(1)', files: { '../escape.txt': 'x' } }, 'PATH_OUTSIDE_WORKSPACE');
    await expectToolError(s.client, 'run_code', { code: 'print(1)', files: { 'a/../../escape.txt': 'x' } }, 'PATH_OUTSIDE_WORKSPACE');
    await expectToolError(s.client, 'run_code', { code: 'print(1)', files: { '/tmp/abs.txt': 'x' } }, 'PATH_OUTSIDE_WORKSPACE');
  });

  it('runs in the environment workspace, which persists, with the source file kept outside it', async () => {
    const first = await exec(s.client, { code: 'import os, sys\nopen("left.txt","w").write("x")\nprint(os.getcwd())\nprint(os.path.abspath(sys.argv[0]))' });
    const second = await exec(s.client, { code: 'import os\nprint(os.path.exists("left.txt"), "main.py" in os.listdir("."))' });
    expect(second.stdout).toBe('True False\n');
    const [cwd, source] = first.stdout.trim().split('\n');
    // The file landed in the default environment's workspace on the host...
    expect(existsSync(path.join(s.dataDir, 'envs', 'default', 'workspace', 'left.txt'))).toBe(true);
    // ...and the source file was not in the working directory the program saw.
    expect(source?.startsWith(`${cwd}/`)).toBe(false);
    // The run's own directory (source file, TMPDIR) is removed after the run; a standby sandbox
    // set up for the next run of this shape (warm_…) is not a run's.
    expect(readdirSync(path.join(s.dataDir, 'scratch')).filter((name) => !name.startsWith('warm_'))).toEqual([]);
  });

  it('run_script runs a workspace file by its extension, with args and stdin', async () => {
    const write = async (filename: string, content: string) => {
      const r = await s.client.callTool({ name: 'workspace_write_file', arguments: { env_id: 'default', filename, content } });
      expect(r.isError).toBeFalsy();
    };
    await write('tools/echo.py', 'import sys\nprint(sys.argv[1:], sys.stdin.read().strip())\n');
    const py = await exec(s.client, { script_path: 'tools/echo.py', args: ['a b', 'c'], stdin: 'in' }, 'run_script');
    expect(py).toMatchObject({ status: 'ok', stdout: "['a b', 'c'] in\n" });
    await write('tools/hello.c', '#include <stdio.h>\nint main(void) { puts("from c"); return 3; }\n');
    expect(await exec(s.client, { script_path: 'tools/hello.c' }, 'run_script')).toMatchObject({ status: 'error', exit_code: 3, stdout: 'from c\n' });
    await expectToolError(s.client, 'run_script', { script_path: 'tools/missing.py' }, 'FILE_NOT_FOUND');
    await expectToolError(s.client, 'run_script', { script_path: '../../etc/passwd' }, 'PATH_OUTSIDE_WORKSPACE');
    await expectToolError(s.client, 'run_script', { script_path: 'tools' }, 'INVALID_ARGUMENT');
  });

  it('turns a Python exception into status error with the traceback', async () => {
    const r = await exec(s.client, { code: 'def f():\n    return 1 / 0\nf()' });
    expect(r.status).toBe('error');
    expect(r.exit_code).toBe(1);
    expect(r.stderr).toContain('Traceback (most recent call last):');
    expect(r.stderr).toContain('ZeroDivisionError: division by zero');
    expect(r.error).toMatchObject({ name: 'ZeroDivisionError', message: 'division by zero' });
    expect(r.error?.traceback).toContain('return 1 / 0');
  });

  it('measures CPU time and peak memory', async () => {
    const r = await exec(s.client, {
      code: 'import time\nb = bytearray(120 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass',
    });
    expect(r.status).toBe('ok');
    expect(r.cpu_ms).toBeGreaterThanOrEqual(350);
    expect(r.peak_memory_mb).toBeGreaterThanOrEqual(110);
    expect(r.peak_memory_mb).toBeLessThan(1024);
  });

  it('execute_code takes the language first', async () => {
    expect(await exec(s.client, { language: 'bash', code: 'echo $((6*7))' }, 'execute_code')).toMatchObject({ status: 'ok', stdout: '42\n' });
    expect(await exec(s.client, { language: 'javascript', code: 'console.log([1,2].map(x => x * 2).join(","))' }, 'execute_code')).toMatchObject({ stdout: '2,4\n' });
    expect(await exec(s.client, { language: 'python', code: 'print("py")' }, 'execute_code')).toMatchObject({ stdout: 'py\n' });
  });

  it('list_languages names python, javascript, bash and sh with absolute paths, no shims', async () => {
    const result = await s.client.callTool({ name: 'list_languages', arguments: {} });
    const { languages } = result.structuredContent as { languages: { id: string; available: boolean; path: string | null; version: string | null }[] };
    for (const id of ['python', 'javascript', 'bash', 'sh']) {
      const lang = languages.find((l) => l.id === id);
      expect(lang?.available, id).toBe(true);
      expect(lang?.path).toMatch(/^\//);
      expect(lang?.path).not.toMatch(/shims/);
    }
    expect(languages.find((l) => l.id === 'python')?.version).toMatch(/^3\.\d+/);
  });

  it('unknown language is LANGUAGE_UNAVAILABLE naming the available ones; unknown env is ENV_NOT_FOUND', async () => {
    const text = await expectToolError(s.client, 'run_code', { code: 'x', language: 'cobol' }, 'LANGUAGE_UNAVAILABLE');
    expect(text).toContain('python');
    expect(text).toContain('bash');
    await expectToolError(s.client, 'execute_code', { code: 'x', language: 'brainfuck' }, 'LANGUAGE_UNAVAILABLE');
    await expectToolError(s.client, 'run_code', { code: 'print(1)', env_id: 'env_nope' }, 'ENV_NOT_FOUND');
  });

  it('a timeout above the operator maximum is POLICY_DENIED', async () => {
    await expectToolError(s.client, 'run_code', { code: 'print(1)', timeout_s: 100_000 }, 'INVALID_ARGUMENT');
    await expectToolError(s.client, 'run_code', { code: 'print(1)', timeout_s: 601 }, 'POLICY_DENIED');
  });

  it('concurrent calls do not mix outputs', async () => {
    const ids = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const results = await Promise.all(
      ids.map((id) =>
        exec(s.client, {
          code: 'import sys, time\nfor i in range(1000):\n    print(sys.argv[1], i)\n    if i % 250 == 0: time.sleep(0.01)\nprint(sys.argv[1], "err", file=sys.stderr)',
          args: [id],
          stdin: id,
        }),
      ),
    );
    results.forEach((r, n) => {
      const id = ids[n] ?? '';
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1000);
      expect(lines.every((line, i) => line === `${id} ${i}`)).toBe(true);
      expect(r.stderr).toBe(`${id} err\n`);
    });
  });
});

/** A parent that starts a SIGTERM-ignoring child, a setsid child and a double-forked daemon. */
const TREE = `
import os, subprocess, sys, time
m, mode = sys.argv[1], sys.argv[2]
py = sys.executable
child = ('import os, signal, sys, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n'
         'open("up-" + sys.argv[1].rsplit("-", 1)[1], "w").close()\\ntime.sleep(300)')
subprocess.Popen([py, '-c', child, m + '-ignoresterm'])
subprocess.Popen([py, '-c', child, m + '-setsid'], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(py, [py, '-c', child, m + '-daemon'])
    os._exit(0)
deadline = time.time() + 20
while len([f for f in os.listdir('.') if f.startswith('up-')]) < 3 and time.time() < deadline:
    time.sleep(0.02)
print(sorted(f for f in os.listdir('.') if f.startswith('up-')), flush=True)
if mode == 'hang':
    while True:
        pass
`;

describe.each([
  { name: 'with cgroups', args: [] as string[] },
  { name: 'without cgroups (/proc tracking)', args: ['--no-cgroups'] },
])('process trees, $name', ({ args }) => {
  let s: StdioSession;
  beforeAll(async () => {
    s = await startStdio({ args });
    // The first run also makes the default environment: time the timeout path, not that.
    await exec(s.client, { code: 'pass' });
  });
  afterAll(async () => s.close());

  it('an infinite loop with timeout_s 2 times out within 4 s and leaves no process', async () => {
    const m = marker();
    const started = Date.now();
    const r = await exec(s.client, { code: 'print("spinning", flush=True)\nwhile True: pass', args: [m], timeout_s: 2 });
    const elapsed = Date.now() - started;
    console.log(`timeout run: ${elapsed} ms end to end, duration_ms ${r.duration_ms}`);
    expect(r.status).toBe('timeout');
    expect(r.error?.name).toBe('Timeout');
    expect(r.stdout).toBe('spinning\n');
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(4000);
    expect(await procsWith(m)).toEqual([]);
  });

  it('a timeout kills children that ignore SIGTERM, setsid and double-fork', async () => {
    const m = marker();
    const r = await exec(s.client, { code: TREE, args: [m, 'hang'], timeout_s: 4 });
    expect(r.status).toBe('timeout');
    expect(r.stdout).toBe("['up-daemon', 'up-ignoresterm', 'up-setsid']\n");
    expect(await waitNoProcs(m, 1000)).toEqual([]);
  });

  it('a normal exit of the parent also ends every child it left', async () => {
    const m = marker();
    const r = await exec(s.client, { code: TREE, args: [m, 'exit'], timeout_s: 30 });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe("['up-daemon', 'up-ignoresterm', 'up-setsid']\n");
    expect(r.duration_ms).toBeLessThan(15_000);
    expect(await waitNoProcs(m, 1000)).toEqual([]);
  });

  it('cancelling the call (client AbortSignal) kills the run', async () => {
    const m = marker();
    const controller = new AbortController();
    const pending = exec(s.client, { code: TREE, args: [m, 'hang'], timeout_s: 60 }, 'run_code', { signal: controller.signal });
    const deadline = Date.now() + 15_000;
    while ((await procsWith(m)).length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await procsWith(m)).length).toBeGreaterThanOrEqual(4);
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(await waitNoProcs(m, 3000)).toEqual([]);
    // The server keeps serving after a cancellation.
    expect((await exec(s.client, { code: 'print("after")' })).stdout).toBe('after\n');
  });
});
