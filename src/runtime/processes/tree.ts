import { setTimeout as sleep } from 'node:timers/promises';
import { listProcs, type ProcInfo } from '../exec/procfs.js';

/**
 * The members of a background process's tree, found through /proc: its session and process group
 * (the supervisor starts it with setsid, so both are numbered by its pid) and their descendants.
 * Processes that started before it cannot be members: that guards against pid reuse.
 */
export async function treeMembers(rootPid: number, rootStart: number, exclude: number[] = []): Promise<ProcInfo[]> {
  const all = await listProcs();
  const members = new Set<number>();
  for (const p of all) if ((p.sid === rootPid || p.pgid === rootPid) && p.startTime >= rootStart) members.add(p.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!members.has(p.pid) && members.has(p.ppid) && p.startTime >= rootStart) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => members.has(p.pid) && !exclude.includes(p.pid));
}

export function signalAll(procs: ProcInfo[], signal: NodeJS.Signals): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}

/** SIGKILL every member, several rounds, so children forked during the kill are caught too. */
export async function killTree(rootPid: number, rootStart: number, exclude: number[] = []): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const members = await treeMembers(rootPid, rootStart, exclude);
    if (members.length === 0) return;
    signalAll(members, 'SIGKILL');
    await sleep(round < 5 ? 5 : 25);
  }
}
