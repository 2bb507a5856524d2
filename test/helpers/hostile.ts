import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** Helpers of the hostile battery: what a run may have left behind, and what it may have changed. */

/** Processes (other than ours) whose command line carries `marker`: a run's leftovers. */
export async function processesWithMarker(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) found.push(Number(name));
  }
  return found;
}

/** Waits up to `ms` for leftovers to vanish (a SIGKILLed process needs a moment to be reaped). */
export async function leftoversAfter(marker: string, ms = 2000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const pids = await processesWithMarker(marker);
    if (pids.length === 0 || Date.now() > deadline) return pids;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A fingerprint of a directory tree (paths, sizes, mtimes): equal before and after means untouched. */
export async function treeFingerprint(root: string, skip: (rel: string) => boolean = () => false): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (skip(rel)) continue;
      const info = await stat(full).catch(() => undefined);
      lines.push(`${rel} ${info?.size ?? '?'} ${info?.mtimeMs ?? '?'}`);
      if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(root);
  return lines.join('\n');
}

/** Run-group directories left in the runtime's cgroup parents (each one means processes survived). */
export async function leftoverCgroups(roots: Record<string, string>): Promise<string[]> {
  const left: string[] = [];
  for (const root of Object.values(roots)) {
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) left.push(path.join(root, entry.name));
  }
  return left;
}
