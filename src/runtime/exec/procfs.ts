import { readdir, readFile } from 'node:fs/promises';

/** What /proc says about one process; enough to find a run's descendants without cgroups. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** Clock ticks since boot: with the pid, identifies a process across pid reuse. */
  startTime: number;
  state: string;
  utimeTicks: number;
  stimeTicks: number;
}

export async function readProc(pid: number): Promise<ProcInfo | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (i: number): number => Number(rest[i]);
  return {
    pid,
    state: rest[0] ?? '?',
    ppid: num(1),
    pgid: num(2),
    sid: num(3),
    utimeTicks: num(11),
    stimeTicks: num(12),
    startTime: num(19),
  };
}

export async function listProcs(): Promise<ProcInfo[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const infos = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readProc(Number(n))));
  return infos.filter((p): p is ProcInfo => p !== undefined && p.state !== 'Z');
}

/** Whether the process with this pid is alive and is the one that started at `startTime`. */
export async function isSameProcessAlive(pid: number, startTime?: number): Promise<boolean> {
  const info = await readProc(pid);
  if (!info || info.state === 'Z') return false;
  return startTime === undefined || info.startTime === startTime;
}

/** Every live process descended from `rootPids`, or sharing their session or process group. */
export function relatedProcs(all: ProcInfo[], rootPids: Set<number>): ProcInfo[] {
  const members = new Set(rootPids);
  const sessions = new Set<number>();
  for (const p of all) if (rootPids.has(p.pid)) sessions.add(p.sid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (members.has(p.pid)) continue;
      if (members.has(p.ppid) || sessions.has(p.sid) || rootPids.has(p.pgid)) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => members.has(p.pid));
}

export async function readPeakRssBytes(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = text ? /VmHWM:\s+(\d+) kB/.exec(text)?.[1] : undefined;
  return kb ? Number(kb) * 1024 : undefined;
}
