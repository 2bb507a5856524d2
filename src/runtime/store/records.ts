import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { HangarError } from '../errors.js';

/**
 * Atomic, versioned JSON records. A write goes to a temp file in the same directory, is fsynced,
 * then renamed over the target: a crash at any moment leaves the old record or the new one, never
 * a torn file.
 */
export interface RecordEnvelope<T> {
  schema_version: number;
  kind: string;
  data: T;
}

export async function writeFileAtomic(file: string, contents: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export class RecordType<S extends z.ZodType> {
  constructor(
    readonly kind: string,
    readonly version: number,
    readonly schema: S,
  ) {}

  async write(file: string, data: z.infer<S>): Promise<void> {
    const envelope: RecordEnvelope<z.infer<S>> = { schema_version: this.version, kind: this.kind, data };
    await writeFileAtomic(file, `${JSON.stringify(envelope, null, 2)}\n`);
  }

  /** Reads a record; undefined when the file does not exist. A corrupt or foreign record is an error that names the file. */
  async read(file: string): Promise<z.infer<S> | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return this.parse(file, text);
  }

  parse(file: string, text: string): z.infer<S> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HangarError('INTERNAL', `record ${file} is not valid JSON; move it aside to continue`);
    }
    const envelope = raw as Partial<RecordEnvelope<unknown>>;
    if (envelope.kind !== this.kind || typeof envelope.schema_version !== 'number') {
      throw new HangarError('INTERNAL', `record ${file} is not a ${this.kind} record`);
    }
    if (envelope.schema_version > this.version) {
      throw new HangarError(
        'INTERNAL',
        `record ${file} has schema version ${envelope.schema_version}, newer than this Hangar understands (${this.version}); upgrade Hangar`,
      );
    }
    const parsed = this.schema.safeParse(envelope.data);
    if (!parsed.success) {
      throw new HangarError('INTERNAL', `record ${file} does not match the ${this.kind} schema: ${parsed.error.message}`);
    }
    return parsed.data;
  }
}
