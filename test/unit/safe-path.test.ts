import { mkdir, realpath, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInside } from '../../src/runtime/workspaces/safe-path.js';
import { tempDir } from '../helpers/cli.js';

describe('resolveInside', () => {
  let base = '';
  let root = '';
  beforeAll(async () => {
    base = await realpath(await tempDir('hangar-safe-'));
    root = path.join(base, 'ws');
    await mkdir(path.join(root, 'a/b'), { recursive: true });
    await mkdir(path.join(root, 'c'), { recursive: true });
    await mkdir(path.join(base, 'outside'), { recursive: true });
    await symlink('/etc', path.join(root, 'a/b/etc-link'));
    await symlink('../../../outside', path.join(root, 'a/b/rel-out'));
    await symlink('../../c', path.join(root, 'a/b/to-c'));
    await symlink(path.join(base, 'nowhere/at/all'), path.join(root, 'dangling'));
    await symlink('missing-inside', path.join(root, 'a/dangling-in'));
  });
  afterAll(async () => rm(base, { recursive: true, force: true }));

  const refused = (rel: string) => expect(resolveInside(root, rel)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });

  it('resolves relative paths inside the root, existing or not', async () => {
    expect(await resolveInside(root, 'a/b/file.txt')).toBe(path.join(root, 'a/b/file.txt'));
    expect(await resolveInside(root, 'new/dir/file')).toBe(path.join(root, 'new/dir/file'));
    expect(await resolveInside(root, 'a/../c/./x')).toBe(path.join(root, 'c/x'));
    expect(await resolveInside(root, '')).toBe(root);
    expect(await resolveInside(root, '.')).toBe(root);
  });

  it('follows symlinks that stay inside', async () => {
    expect(await resolveInside(root, 'a/b/to-c/file')).toBe(path.join(root, 'c/file'));
  });

  it('refuses absolute paths, .. escapes and NUL bytes', async () => {
    await refused('/etc/passwd');
    await refused('..');
    await refused('../ws-sibling');
    await refused('a/../../x');
    await refused('a/b/../../../x');
    await refused('a\0b');
    await refused('x'.repeat(5000));
  });

  it('refuses symlinks that leave the root, at any depth', async () => {
    await refused('a/b/etc-link');
    await refused('a/b/etc-link/passwd');
    await refused('a/b/rel-out/secret.txt');
  });

  it('refuses dangling symlinks', async () => {
    await refused('dangling');
    await refused('dangling/file');
    await refused('a/dangling-in');
  });

  it('names the path and says what to do', async () => {
    await expect(resolveInside(root, '../x', 'file')).rejects.toThrow(/file "\.\.\/x" leaves the workspace; give a path relative to the workspace/);
    await expect(resolveInside(root, 'a\0b')).rejects.toThrow(/a\\0b/);
  });
});
