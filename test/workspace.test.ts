import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, tempDir, type StdioSession } from './helpers/cli.js';

let s: StdioSession;
let ws: string;
let outside: string;

async function call(name: string, args: Record<string, unknown>) {
  return s.client.callTool({ name, arguments: args });
}
async function ok<T>(name: string, args: Record<string, unknown>): Promise<T> {
  const result = await call(name, args);
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as T;
}
const text = (result: { content: unknown }): string => JSON.stringify(result.content);

beforeAll(async () => {
  s = await startStdio();
  ws = (await ok<{ path: string }>('workspace_create', {})).path;
  outside = await tempDir('hangar-outside-');
  await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET\n');
  await writeFile(path.join(outside, 'evil.py'), 'print("escaped")\n');
  await mkdir(path.join(ws, 'sub'), { recursive: true });
  await symlink(outside, path.join(ws, 'sub', 'link_out'));
  await symlink(path.join(outside, 'secret.txt'), path.join(ws, 'file_link'));
  await symlink('/nonexistent/dangling', path.join(ws, 'dangling'));
});
afterAll(async () => {
  await s.close();
  await rm(outside, { recursive: true, force: true });
});

const ATTACKS = ['/etc/passwd', '../../../etc/passwd', 'sub/../../x', 'a\0b', 'sub/link_out/secret.txt', 'file_link', 'sub/link_out/evil.py', 'dangling/x', 'sub/link_out'];

/** Every path argument of every tool, with the other arguments it needs. */
const PATH_ARGUMENTS: [string, string, Record<string, unknown>][] = [
  ['workspace_write_file', 'filename', { content: 'x' }],
  ['workspace_read_file', 'filename', {}],
  ['workspace_edit_file', 'filename', { old_string: 'a', new_string: 'b' }],
  ['workspace_list_files', 'path', {}],
  ['workspace_delete_file', 'filename', {}],
  ['workspace_run_script', 'filename', {}],
  ['run_script', 'script_path', {}],
  ['run_code', 'files', { code: 'print(1)' }],
  ['workspace_git_clone', 'dir_name', { repo_url: 'file:///nonexistent.git' }],
  ['spawn_process', 'script_path', {}],
  ['spawn_process', 'cwd', { command: ['/bin/true'] }],
  ['job_submit', 'spec.run.cwd', {}],
  ['job_submit', 'spec.run.log_path', {}],
  ['job_submit', 'spec.artifacts', {}],
  ['job_submit', 'spec.bootstrap.cwd', {}],
];

function argsFor(tool: string, arg: string, base: Record<string, unknown>, value: string): Record<string, unknown> {
  if (arg === 'files') return { ...base, files: { [value]: 'x' } };
  if (!arg.startsWith('spec.')) return { ...base, [arg]: value };
  const spec: Record<string, unknown> = { run: { command: 'true' } };
  if (arg === 'spec.run.cwd') spec.run = { command: 'true', cwd: value };
  if (arg === 'spec.run.log_path') spec.run = { command: 'true', log_path: value };
  if (arg === 'spec.artifacts') spec.artifacts = [value];
  if (arg === 'spec.bootstrap.cwd') spec.bootstrap = { commands: ['true'], cwd: value };
  return { spec };
}

describe('path attacks on every path argument', () => {
  for (const [tool, arg, base] of PATH_ARGUMENTS) {
    for (const attack of ATTACKS) {
      // A NUL byte is refused by the argument schema itself (INVALID_ARGUMENT) or by resolveInside.
      it(`${tool} ${arg} = ${JSON.stringify(attack)}`, async () => {
        const result = await call(tool, argsFor(tool, arg, base, attack));
        expect(result.isError).toBe(true);
        expect(text(result)).toMatch(attack.includes('\0') ? /PATH_OUTSIDE_WORKSPACE|INVALID_ARGUMENT/ : /PATH_OUTSIDE_WORKSPACE/);
        expect(text(result)).not.toContain('TOP SECRET');
      });
    }
  }
  it('the secret was neither read nor changed, and nothing escaped', async () => {
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET\n');
  });
  it('the workspace resource refuses escapes too', async () => {
    await expect(s.client.readResource({ uri: 'hangar://workspace/default/file_link' })).rejects.toThrow(/PATH_OUTSIDE_WORKSPACE/);
    await expect(s.client.readResource({ uri: 'hangar://workspace/default/..%2F..%2Fetc%2Fpasswd' })).rejects.toThrow(/PATH_OUTSIDE_WORKSPACE/);
  });
});

describe('files', () => {
  it('round-trips binary bytes through base64, and serves images as image blocks and resources', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await ok('workspace_write_file', { filename: 'bin/data.bin', content: bytes.toString('base64'), encoding: 'base64' });
    const read = await ok<{ encoding: string; content: string }>('workspace_read_file', { filename: 'bin/data.bin' });
    expect(read.encoding).toBe('base64');
    expect(Buffer.from(read.content, 'base64').equals(bytes)).toBe(true);
    expect((await readFile(path.join(ws, 'bin/data.bin'))).equals(bytes)).toBe(true);
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4d20000000049454e44ae426082', 'hex');
    await ok('workspace_write_file', { filename: 'img.png', content: png.toString('base64'), encoding: 'base64' });
    const image = await call('workspace_read_file', { filename: 'img.png' });
    expect((image.content as { type: string }[]).some((b) => b.type === 'image')).toBe(true);
    const resource = await s.client.readResource({ uri: 'hangar://workspace/default/img.png' });
    expect(Buffer.from((resource.contents[0] as { blob: string }).blob, 'base64').equals(png)).toBe(true);
  });

  it('reads numbered lines with offset and limit', async () => {
    await ok('workspace_write_file', { filename: 'lines.txt', content: Array.from({ length: 10 }, (_, i) => `L${i + 1}`).join('\n') + '\n' });
    const r = await ok<{ content: string; total_lines: number; truncated: boolean }>('workspace_read_file', { filename: 'lines.txt', offset: 3, limit: 2 });
    expect(r.content).toBe('3\tL3\n4\tL4');
    expect(r.total_lines).toBe(10);
    expect(r.truncated).toBe(true);
  });

  it('edits: exact, trailing-whitespace tolerant, indentation tolerant, ambiguity, replace_all', async () => {
    await ok('workspace_write_file', { filename: 'e.py', content: 'def f():\n    x = 1   \n    return x\n\ny = 2\ny = 2\n' });
    expect(await ok('workspace_edit_file', { filename: 'e.py', old_string: 'return x', new_string: 'return x + 1' })).toMatchObject({ replacements: 1, strategy: 'exact' });
    expect(await ok('workspace_edit_file', { filename: 'e.py', old_string: '    x = 1\n    return x + 1', new_string: '    x = 3\n    return x + 1' })).toMatchObject({ strategy: 'trailing_whitespace' });
    expect(await ok('workspace_edit_file', { filename: 'e.py', old_string: 'x = 3\nreturn x + 1', new_string: 'x = 4\nif x:\n    return x' })).toMatchObject({ strategy: 'indentation' });
    const ambiguous = await call('workspace_edit_file', { filename: 'e.py', old_string: 'y = 2', new_string: 'y = 5' });
    expect(ambiguous.isError).toBe(true);
    expect(text(ambiguous)).toMatch(/matches 2 places.*replace_all/);
    expect(await ok('workspace_edit_file', { filename: 'e.py', old_string: 'y = 2', new_string: 'y = 5', replace_all: true })).toMatchObject({ replacements: 2 });
    expect(await readFile(path.join(ws, 'e.py'), 'utf8')).toBe('def f():\n    x = 4\n    if x:\n        return x\n\ny = 5\ny = 5\n');
    const missing = await call('workspace_edit_file', { filename: 'e.py', old_string: 'nothing like this', new_string: 'z' });
    expect(text(missing)).toMatch(/INVALID_ARGUMENT: old_string was not found/);
  });

  it('lists with pattern and recursion, deletes, and runs scripts by extension', async () => {
    await ok('workspace_write_file', { filename: 'pkg/mod.py', content: 'VALUE = 41\n' });
    await ok('workspace_write_file', { filename: 'pkg/run.py', content: 'import sys\nsys.path.insert(0, "pkg")\nimport mod\nprint(mod.VALUE + int(sys.argv[1]))\n' });
    const list = await ok<{ files: { path: string }[] }>('workspace_list_files', { recursive: true, pattern: '*.py' });
    expect(list.files.map((f) => f.path)).toEqual(expect.arrayContaining(['pkg/mod.py', 'pkg/run.py', 'e.py']));
    const run = await ok<{ status: string; stdout: string }>('workspace_run_script', { filename: 'pkg/run.py', args: ['1'] });
    expect(run).toMatchObject({ status: 'ok', stdout: '42\n' });
    await ok('workspace_write_file', { filename: 'x.sh', content: 'echo "in $(pwd)"\n' });
    const where = await ok<{ stdout: string; sandbox: { level: string } }>('workspace_run_script', { filename: 'x.sh' });
    // The workspace is the working directory: at /workspace inside the sandbox, at its host path at level process.
    expect(where.stdout).toBe(`in ${where.sandbox.level === 'isolated' ? '/workspace' : ws}\n`);
    const unknown = await call('workspace_run_script', { filename: 'lines.txt' });
    expect(text(unknown)).toMatch(/LANGUAGE_UNAVAILABLE/);
    await ok('workspace_delete_file', { filename: 'pkg' });
    expect(text(await call('workspace_read_file', { filename: 'pkg/mod.py' }))).toMatch(/FILE_NOT_FOUND/);
  });
});

describe('git clone', () => {
  let repo: string;
  beforeAll(async () => {
    const dir = await tempDir('hangar-git-');
    const work = path.join(dir, 'work');
    repo = path.join(dir, 'origin.git');
    const git = (cwd: string, ...args: string[]) => execFileSync('/usr/bin/git', args, { cwd, env: { PATH: '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } });
    await mkdir(work);
    git(work, 'init', '-q', '-b', 'main');
    await writeFile(path.join(work, 'README.md'), 'hello from git\n');
    git(work, 'add', '.');
    git(work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'first');
    git(dir, 'clone', '-q', '--bare', work, repo);
  });

  it('clones a bare repository over file://', async () => {
    const out = await ok<{ path: string }>('workspace_git_clone', { repo_url: `file://${repo}`, dir_name: 'cloned', depth: 1, branch: 'main' });
    expect(out.path).toBe('cloned');
    expect(await readFile(path.join(ws, 'cloned/README.md'), 'utf8')).toBe('hello from git\n');
  });

  it.each([
    ['--upload-pack=touch /tmp/pwned', /looks like an option/],
    ['ext::sh -c touch% /tmp/pwned', /transport helper/],
    ['fd::3', /transport helper/],
    ['ftp://example.com/x.git', /unsupported scheme/],
  ])('refuses %s', async (url, why) => {
    const result = await call('workspace_git_clone', { repo_url: url, dir_name: 'bad' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(why);
  });

  it('never echoes credentials in results, errors or the audit log', async () => {
    const result = await call('workspace_git_clone', { repo_url: 'https://alice:hunter2secret@127.0.0.1:9/x.git', dir_name: 'creds', timeout_s: 20 });
    expect(result.isError).toBe(true);
    expect(text(result)).not.toContain('hunter2secret');
    const audit = await readFile(path.join(s.dataDir, 'audit.log'), 'utf8');
    expect(audit).toContain('workspace_git_clone');
    expect(audit).not.toContain('hunter2secret');
  });
});
