import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineAppender } from '../../src/runtime/store/line-appender.js';
import { tempDir } from '../helpers/cli.js';

describe('LineAppender', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('hangar-appender-');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('writes after the current turn, in order, with the file private to the owner', async () => {
    const file = path.join(dir, 'order.log');
    const appender = new LineAppender(file);
    const writes = Array.from({ length: 50 }, (_, i) => appender.append(`line ${i}\n`));
    // Nothing is written in the caller's turn: the reply goes out first.
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await Promise.all(writes);
    expect((await readFile(file, 'utf8')).split('\n').filter(Boolean)).toEqual(Array.from({ length: 50 }, (_, i) => `line ${i}`));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    appender.close();
  });

  it('appends to what the file already has, and close writes what is queued', async () => {
    const file = path.join(dir, 'close.log');
    const first = new LineAppender(file);
    await first.append('a\n');
    first.close();
    const second = new LineAppender(file);
    const pending = second.append('b\n');
    second.close();
    await pending;
    expect(await readFile(file, 'utf8')).toBe('a\nb\n');
  });

  it('a failed write rejects its lines, and a later append reopens the file', async () => {
    const sub = path.join(dir, 'gone');
    await mkdir(sub);
    const file = path.join(sub, 'x.log');
    const appender = new LineAppender(file);
    await appender.append('kept\n');
    appender.close();
    await rm(sub, { recursive: true });
    await expect(appender.append('lost\n')).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(sub);
    await appender.append('again\n');
    expect(await readFile(file, 'utf8')).toBe('again\n');
    appender.close();
  });

  it('a file it may not write is an error for the caller, not a crash', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere: use a path whose parent is a file instead.
      const appender = new LineAppender(path.join(dir, 'order.log', 'child'));
      await expect(appender.append('x\n')).rejects.toMatchObject({ code: 'ENOTDIR' });
      return;
    }
    const sub = path.join(dir, 'ro');
    await mkdir(sub);
    await chmod(sub, 0o500);
    const appender = new LineAppender(path.join(sub, 'x.log'));
    await expect(appender.append('x\n')).rejects.toMatchObject({ code: 'EACCES' });
  });
});
