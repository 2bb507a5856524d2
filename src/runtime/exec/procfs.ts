import { closeSync, openSync, readSync } from 'node:fs';
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

/** Direct children of a process (the kernel's own list where it keeps one, else a /proc scan). */
export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => undefined);
  if (text !== undefined) return text.split(' ').filter(Boolean).map(Number);
  return (await listProcs()).filter((p) => p.ppid === pid).map((p) => p.pid);
}

/** The pid a process has in its innermost pid namespace (NSpid's last field). */
export async function innermostPid(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const fields = text ? /^NSpid:\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/) : undefined;
  const last = fields?.[fields.length - 1];
  return last === undefined ? undefined : Number(last);
}

/**
 * The program bubblewrap started, seen from the host: bubblewrap's init is pid 1 of the new pid
 * namespace (and leads the new session and process group), the program is its child with pid 2.
 * Both host pids, or undefined while the sandbox is still being set up (or is gone).
 */
export async function findSandboxedProgram(wrapperPid: number): Promise<{ pid: number; group: number } | undefined> {
  let level = [wrapperPid];
  // bubblewrap may put a helper between itself and the namespace's init: look a few levels down.
  for (let depth = 0; depth < 4 && level.length > 0; depth++) {
    const next: number[] = [];
    for (const pid of level) {
      if ((await innermostPid(pid)) === 1 && pid !== wrapperPid) {
        for (const child of await childPids(pid)) if ((await innermostPid(child)) === 2) return { pid: child, group: pid };
        return undefined;
      }
      next.push(...(await childPids(pid)));
    }
    level = next;
  }
  return undefined;
}

/**
 * A process's peak RSS (VmHWM) read again and again through one open /proc/<pid>/status: a pread
 * regenerates the file, so each read is one syscall instead of open, stat, read and close.
 */
export class PeakRssReader {
  private fd: number | undefined;
  private readonly buffer = Buffer.alloc(4096);

  constructor(pid: number) {
    try {
      this.fd = openSync(`/proc/${pid}/status`, 'r');
    } catch {
      this.fd = undefined;
    }
  }

  bytes(): number | undefined {
    if (this.fd === undefined) return undefined;
    try {
      const length = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      const match = /VmHWM:\s+(\d+) kB/.exec(this.buffer.toString('latin1', 0, length));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
