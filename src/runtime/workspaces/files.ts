import { open, readdir, lstat, mkdir, rm, stat, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { HangarError } from '../errors.js';
import { applyEdit, type EditStrategy } from './edit.js';
import { globMatcher } from './glob.js';
import type { WorkspaceLocator } from './locator.js';
import { resolveInside } from './safe-path.js';

/** Files of a workspace: every path argument goes through resolveInside, at the time of use. */
export const MAX_READ_BYTES = 64 * 1048576;
const MAX_TEXT_CHARS = 512 * 1024;
const MAX_LIST_ENTRIES = 5000;

export interface FileEntry {
  name: string;
  path: string;
  is_dir: boolean;
  size: number;
  modified: string;
}

export type ReadResult =
  | { kind: 'text'; path: string; content: string; offset: number; lines_returned: number; total_lines: number; truncated: boolean; size: number }
  | { kind: 'binary'; path: string; base64: string; mime_type: string; size: number; image: boolean };

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp' };

export function mimeTypeOf(file: string, binary: boolean): string {
  const ext = path.extname(file).toLowerCase();
  return IMAGE_TYPES[ext] ?? (ext === '.svg' ? 'image/svg+xml' : ext === '.json' ? 'application/json' : binary ? 'application/octet-stream' : 'text/plain');
}

/** NUL bytes or invalid UTF-8 mean the file is not text. */
export function isBinary(bytes: Buffer): boolean {
  if (bytes.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

function notFound(rel: string): never {
  throw new HangarError('FILE_NOT_FOUND', `"${rel}" does not exist in the workspace; list files with workspace_list_files`);
}

export class WorkspaceFiles {
  constructor(private readonly locator: WorkspaceLocator) {}

  root(envId: string): Promise<string> {
    return this.locator.workspacePath(envId);
  }

  async resolve(envId: string, rel: string, what = 'path'): Promise<string> {
    return resolveInside(await this.root(envId), rel, what);
  }

  /** A regular file of the workspace, by the one safe-path check; FILE_NOT_FOUND or INVALID_ARGUMENT otherwise. */
  async requireFile(envId: string, rel: string, what = 'filename'): Promise<string> {
    const file = await this.resolve(envId, rel, what);
    const info = await stat(file).catch(() => notFound(rel));
    if (!info.isFile()) throw new HangarError('INVALID_ARGUMENT', `${what} "${rel.slice(0, 200)}" is not a regular file`);
    return file;
  }

  async write(envId: string, filename: string, content: string, encoding: 'utf-8' | 'base64'): Promise<{ path: string; bytes: number }> {
    const file = await this.resolve(envId, filename, 'filename');
    if (encoding === 'base64' && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(content)) {
      throw new HangarError('INVALID_ARGUMENT', 'content is not valid base64; encode the bytes as standard base64 or use encoding "utf-8"');
    }
    const bytes = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
    await mkdir(path.dirname(file), { recursive: true });
    // Parents were just made: check again so a symlink raced in meanwhile is still refused.
    const checked = await this.resolve(envId, filename, 'filename');
    const info = await stat(checked).catch(() => undefined);
    if (info?.isDirectory()) throw new HangarError('INVALID_ARGUMENT', `"${filename}" is a directory; give a file name`);
    await writeFile(checked, bytes);
    return { path: filename, bytes: bytes.length };
  }

  async readBytes(envId: string, filename: string): Promise<{ file: string; bytes: Buffer }> {
    const file = await this.resolve(envId, filename, 'filename');
    const info = await stat(file).catch(() => notFound(filename));
    if (info.isDirectory()) throw new HangarError('INVALID_ARGUMENT', `"${filename}" is a directory; list it with workspace_list_files`);
    if (info.size > MAX_READ_BYTES) {
      throw new HangarError('LIMIT_EXCEEDED', `"${filename}" is ${info.size} bytes, above the ${MAX_READ_BYTES} byte read limit; inspect it with workspace_run_script (e.g. head, grep)`);
    }
    return { file, bytes: await readFile(file) };
  }

  async read(envId: string, filename: string, offset: number, limit: number): Promise<ReadResult> {
    const { file, bytes } = await this.readBytes(envId, filename);
    if (isBinary(bytes)) {
      const mime = mimeTypeOf(file, true);
      return { kind: 'binary', path: filename, base64: bytes.toString('base64'), mime_type: mime, size: bytes.length, image: mime.startsWith('image/') };
    }
    const lines = bytes.toString('utf8').split('\n');
    if (lines.length > 1 && lines.at(-1) === '') lines.pop();
    const total = bytes.length === 0 ? 0 : lines.length;
    const start = Math.max(1, offset);
    const width = String(Math.min(total, start + limit)).length;
    const out: string[] = [];
    let chars = 0;
    let cut = false;
    for (let n = start; n <= total && n < start + limit; n++) {
      const line = `${String(n).padStart(width)}\t${lines[n - 1] ?? ''}`;
      if (chars + line.length > MAX_TEXT_CHARS) {
        cut = true;
        break;
      }
      out.push(line);
      chars += line.length + 1;
    }
    const last = start + out.length - 1;
    return { kind: 'text', path: filename, content: out.join('\n'), offset: start, lines_returned: out.length, total_lines: total, truncated: cut || last < total, size: bytes.length };
  }

  async edit(envId: string, filename: string, oldString: string, newString: string, replaceAll: boolean): Promise<{ path: string; replacements: number; strategy: EditStrategy }> {
    const { file, bytes } = await this.readBytes(envId, filename);
    if (isBinary(bytes)) throw new HangarError('INVALID_ARGUMENT', `"${filename}" is a binary file; rewrite it with workspace_write_file`);
    const outcome = applyEdit(bytes.toString('utf8'), oldString, newString, replaceAll);
    await writeFile(file, outcome.text);
    return { path: filename, replacements: outcome.replacements, strategy: outcome.strategy };
  }

  async list(envId: string, dir: string, recursive: boolean, pattern?: string): Promise<{ files: FileEntry[]; truncated: boolean }> {
    const root = await this.root(envId);
    const start = await resolveInside(root, dir, 'path');
    const info = await stat(start).catch(() => notFound(dir));
    if (!info.isDirectory()) throw new HangarError('INVALID_ARGUMENT', `"${dir}" is a file, not a directory; read it with workspace_read_file`);
    const match = pattern ? globMatcher(pattern) : () => true;
    const files: FileEntry[] = [];
    let truncated = false;
    const walk = async (abs: string, rel: string): Promise<void> => {
      const names = (await readdir(abs).catch(() => [] as string[])).sort();
      for (const name of names) {
        if (files.length >= MAX_LIST_ENTRIES) {
          truncated = true;
          return;
        }
        const childAbs = path.join(abs, name);
        const childRel = rel ? `${rel}/${name}` : name;
        // lstat: a symlink is listed, never followed (it may point anywhere).
        const entry = await lstat(childAbs).catch(() => undefined);
        if (!entry) continue;
        if (match(childRel)) {
          files.push({ name, path: childRel, is_dir: entry.isDirectory(), size: entry.isDirectory() ? 0 : entry.size, modified: entry.mtime.toISOString() });
        }
        if (recursive && entry.isDirectory()) await walk(childAbs, childRel);
      }
    };
    const base = path.relative(await resolveInside(root, ''), start).split(path.sep).join('/');
    await walk(start, base);
    return { files, truncated };
  }

  async delete(envId: string, filename: string): Promise<{ path: string; was_dir: boolean }> {
    const file = await this.resolve(envId, filename, 'filename');
    if (file === (await resolveInside(await this.root(envId), ''))) {
      throw new HangarError('INVALID_ARGUMENT', 'refusing to delete the workspace itself; use workspace_destroy');
    }
    const info = await lstat(file).catch(() => notFound(filename));
    await rm(file, { recursive: true, force: true });
    return { path: filename, was_dir: info.isDirectory() };
  }

  /** Empties the workspace (the environment stays); the directory is made again on next use. */
  async destroy(envId: string): Promise<{ removed_entries: number }> {
    const root = await this.root(envId);
    const names = await readdir(root);
    await rm(root, { recursive: true, force: true });
    return { removed_entries: names.length };
  }

  /** For resources: the first `max` bytes of a file. */
  async head(envId: string, filename: string, max: number): Promise<{ bytes: Buffer; size: number }> {
    const file = await this.resolve(envId, filename, 'path');
    const handle = await open(file, 'r').catch(() => notFound(filename));
    try {
      const size = (await handle.stat()).size;
      const buffer = Buffer.alloc(Math.min(size, max));
      await handle.read(buffer, 0, buffer.length, 0);
      return { bytes: buffer, size };
    } finally {
      await handle.close();
    }
  }
}
