import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RecordType } from '../../src/runtime/store/records.js';
import { tempDir } from '../helpers/cli.js';

const Thing = z.object({ name: z.string(), count: z.number() });
const things = new RecordType('thing', 2, Thing);

describe('RecordType', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('hangar-records-');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('writes an envelope with kind and version, and reads it back', async () => {
    const file = path.join(dir, 'nested/deeper/thing.json');
    await things.write(file, { name: 'a', count: 1 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ schema_version: 2, kind: 'thing', data: { name: 'a', count: 1 } });
    expect(await things.read(file)).toEqual({ name: 'a', count: 1 });
  });

  it('a missing record reads as undefined', async () => {
    expect(await things.read(path.join(dir, 'nope.json'))).toBeUndefined();
  });

  it('concurrent writes leave one whole record and no temp files', async () => {
    const file = path.join(dir, 'race.json');
    await Promise.all(Array.from({ length: 30 }, (_, i) => things.write(file, { name: `writer-${i}`, count: i })));
    const read = await things.read(file);
    expect(read?.name).toBe(`writer-${read?.count}`);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('reads an older version, refuses a newer one, another kind, bad JSON and bad data', async () => {
    const write = async (name: string, text: string) => {
      const file = path.join(dir, name);
      await writeFile(file, text);
      return file;
    };
    expect(await things.read(await write('old.json', JSON.stringify({ schema_version: 1, kind: 'thing', data: { name: 'o', count: 0 } })))).toEqual({ name: 'o', count: 0 });
    const newer = await write('newer.json', JSON.stringify({ schema_version: 3, kind: 'thing', data: { name: 'n', count: 0 } }));
    await expect(things.read(newer)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/newer.*upgrade Hangar/) as unknown });
    await expect(things.read(await write('kind.json', JSON.stringify({ schema_version: 1, kind: 'other', data: {} })))).rejects.toThrow(/not a thing record/);
    await expect(things.read(await write('torn.json', '{"schema_version": 2, "kind": "th'))).rejects.toThrow(/not valid JSON; move it aside/);
    await expect(things.read(await write('bad.json', JSON.stringify({ schema_version: 2, kind: 'thing', data: { name: 5 } })))).rejects.toThrow(/does not match the thing schema/);
    await expect(things.read(await write('noversion.json', JSON.stringify({ kind: 'thing', data: { name: 'x', count: 1 } })))).rejects.toThrow(/not a thing record/);
  });
});
