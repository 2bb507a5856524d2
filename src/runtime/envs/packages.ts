import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface InstalledPackage {
  name: string;
  version: string;
}

/** PEP 503 normalized name: how pip compares names. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** site-packages of an environment made from Python X.Y (venv and conda share this layout on POSIX). */
export function sitePackages(envPath: string, pythonVersion: string): string {
  const [major, minor] = pythonVersion.split('.');
  return path.join(envPath, 'lib', `python${major}.${minor}`, 'site-packages');
}

async function readHead(file: string, bytes = 4096): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The distributions installed in the environment itself, read straight from the *.dist-info /
 * *.egg-info metadata (what `pip list` reads), without starting an interpreter: milliseconds,
 * and cheap enough to snapshot before and after every install.
 */
export async function scanPackages(siteDir: string): Promise<InstalledPackage[]> {
  const names = await readdir(siteDir).catch(() => [] as string[]);
  const found = await Promise.all(
    names
      .filter((n) => n.endsWith('.dist-info') || n.endsWith('.egg-info'))
      .map(async (dirName): Promise<InstalledPackage | undefined> => {
        const meta = dirName.endsWith('.dist-info') ? 'METADATA' : 'PKG-INFO';
        const text = await readHead(path.join(siteDir, dirName, meta)).catch(() => undefined);
        if (text === undefined) return undefined;
        const name = /^Name:\s*(.+)$/m.exec(text)?.[1]?.trim();
        const version = /^Version:\s*(.+)$/m.exec(text)?.[1]?.trim();
        return name && version ? { name, version } : undefined;
      }),
  );
  const byName = new Map<string, InstalledPackage>();
  for (const p of found) if (p) byName.set(normalizeName(p.name), p);
  return [...byName.values()].sort((a, b) => normalizeName(a.name).localeCompare(normalizeName(b.name)));
}

export interface PackageDiff {
  added: InstalledPackage[];
  removed: InstalledPackage[];
  changed: Array<{ name: string; from: string; to: string }>;
}

export function diffPackages(before: readonly InstalledPackage[], after: readonly InstalledPackage[]): PackageDiff {
  const old = new Map(before.map((p) => [normalizeName(p.name), p]));
  const now = new Map(after.map((p) => [normalizeName(p.name), p]));
  const diff: PackageDiff = { added: [], removed: [], changed: [] };
  for (const [key, p] of now) {
    const prior = old.get(key);
    if (!prior) diff.added.push(p);
    else if (prior.version !== p.version) diff.changed.push({ name: p.name, from: prior.version, to: p.version });
  }
  for (const [key, p] of old) if (!now.has(key)) diff.removed.push(p);
  return diff;
}

export function isEmptyDiff(diff: PackageDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}
