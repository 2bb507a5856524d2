import { readdir, readFile, readlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** A string unique to one test, put in the argv of every process it starts so /proc can find them. */
export function marker(tag = 'hgt'): string {
  return `${tag}-${randomBytes(6).toString('hex')}`;
}

/** Live (non-zombie) processes whose command line contains `needle`. */
export async function procsWith(needle: string): Promise<{ pid: number; cmdline: string }[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(needle)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (stat === '' || state === 'Z' || state === 'X') continue;
    found.push({ pid: Number(name), cmdline: cmdline.replace(/\0/g, ' ').trim() });
  }
  return found;
}

/**
 * Live processes that use `dir`: its path in their command line, or their working directory in it.
 * A sandbox's bubblewrap takes its binds from a pipe (`--args`), so its command line names no host
 * directory; it runs in the run's working directory (a workspace, a scratch directory) instead.
 */
export async function procsUsing(dir: string): Promise<{ pid: number; cmdline: string }[]> {
  const named = await procsWith(dir);
  const names = await readdir('/proc').catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name);
    if (!/^\d+$/.test(name) || pid === process.pid || named.some((p) => p.pid === pid)) continue;
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => '');
    if (cwd !== dir && !cwd.startsWith(`${dir}/`)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (stat === '' || state === 'Z' || state === 'X') continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    named.push({ pid, cmdline: cmdline.replace(/\0/g, ' ').trim() });
  }
  return named;
}

/** A process and its ancestors up to (not including) `stop` or pid 1: what a sandboxed program runs under. */
export async function ancestry(pid: number, stop = process.pid): Promise<number[]> {
  const chain: number[] = [];
  for (let at = pid; at > 1 && at !== stop && chain.length < 16; ) {
    chain.push(at);
    const stat = await readFile(`/proc/${at}/stat`, 'utf8').catch(() => '');
    at = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
  }
  return chain;
}

/** Waits until no process carries `needle` (or the deadline passes) and returns what is left. */
export async function waitNoProcs(needle: string, withinMs = 3000): Promise<{ pid: number; cmdline: string }[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = await procsWith(needle);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

/** Waits until at least `count` processes carry `needle`. */
export async function waitProcs(needle: string, count: number, withinMs = 10_000): Promise<number> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const found = (await procsWith(needle)).length;
    if (found >= count || Date.now() > deadline) return found;
    await sleep(50);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` while sampling `pid`'s resident memory every 50 ms: its result, the RSS before and the peak. */
export async function peakRssDuring<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; before: number; peak: number }> {
  const before = await rssBytes(pid);
  let peak = before;
  const sampler = setInterval(() => {
    void rssBytes(pid).then((rss) => (peak = Math.max(peak, rss)), () => undefined);
  }, 50);
  const result = await work().finally(() => clearInterval(sampler));
  return { result, before, peak: Math.max(peak, await rssBytes(pid).catch(() => peak)) };
}

/** Resident memory of a process in bytes, from /proc/<pid>/status. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}
