import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { HangarError } from '../errors.js';

/**
 * The one function every path argument goes through. A path is relative to `root`; absolute
 * paths, `..` escapes, NUL bytes and symlinks that resolve outside `root` (at any depth, checked
 * on the real path now, at the time of use) are refused with PATH_OUTSIDE_WORKSPACE.
 */
export async function resolveInside(root: string, relative: string, what = 'path'): Promise<string> {
  const deny = (why: string): never => {
    throw new HangarError('PATH_OUTSIDE_WORKSPACE', `${what} "${printable(relative)}" ${why}; give a path relative to the workspace`);
  };
  if (typeof relative !== 'string') deny('is not a string');
  if (relative.includes('\0')) deny('contains a NUL byte');
  if (relative.length > 4096) deny('is longer than 4096 characters');
  if (path.isAbsolute(relative)) deny('is absolute');
  const realRoot = await realpath(root);
  const target = path.resolve(realRoot, relative);
  if (!isWithin(realRoot, target)) deny('leaves the workspace');
  // Walk down from the root: every existing component must stay inside once symlinks are followed.
  const parts = path.relative(realRoot, target).split(path.sep).filter(Boolean);
  let current = realRoot;
  for (const part of parts) {
    const next = path.join(current, part);
    const info = await lstat(next).catch(() => undefined);
    if (!info) {
      current = next;
      continue;
    }
    if (info.isSymbolicLink()) {
      const real = await realpath(next).catch(() => undefined);
      // A dangling link could be created to point outside later: refuse it too.
      if (!real || !isWithin(realRoot, real)) deny('goes through a symlink that points outside the workspace');
      current = real ?? next;
    } else {
      current = next;
    }
  }
  return current;
}

export function isWithin(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function printable(value: string): string {
  const shown = value.replace(/\0/g, '\\0');
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}
