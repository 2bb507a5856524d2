import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rmdir, writeFile, constants } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Per-run control groups: they hold every process a run starts (setsid and double forks included),
 * so a kill reaches the whole tree, and they give limits and measurements (CPU time, peak memory)
 * that rlimits cannot. Detected once per runtime: cgroup v2 (one unified tree) or v1 (one tree per
 * controller). Where neither is writable, callers fall back to process groups and rlimits.
 */
export type CgroupMode = 'v2' | 'v1' | 'none';

export interface CgroupSupport {
  mode: CgroupMode;
  /** Why cgroups are not used, or which roots are. For `hangar doctor`. */
  detail: string;
  /** v1: controller → our parent directory; v2: '' → our parent directory. */
  roots: Record<string, string>;
}

export interface CgroupLimits {
  memoryBytes?: number;
  maxProcesses?: number;
}

export interface CgroupMetrics {
  cpuMs: number | null;
  peakMemoryBytes: number | null;
  /** The memory limit was hit (OOM kill or failed allocations). */
  memoryLimitHit: boolean;
  /** A fork was refused by the process limit. */
  processLimitHit: boolean;
}

const V1_CONTROLLERS = ['pids', 'freezer', 'cpuacct', 'memory'] as const;
const PARENT_NAME = 'hangar';

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function ownCgroupPaths(): Promise<Map<string, string>> {
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [, controllers, rel] = line.split(':');
    if (controllers === undefined || rel === undefined) continue;
    for (const c of controllers.split(',')) map.set(c, rel);
  }
  return map;
}

/**
 * Parent groups of servers that died without closing (killed, crashed) stay behind as empty
 * directories: remove those whose server pid is gone (rmdir only removes empty groups, so a group
 * still holding a process is left alone).
 */
async function removeStaleParents(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    const pid = new RegExp(`^${PARENT_NAME}-(\\d+)-`).exec(name)?.[1];
    if (pid === undefined || existsSync(`/proc/${pid}`)) continue;
    const dir = path.join(base, name);
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const child of children) if (child.isDirectory()) await rmdir(path.join(dir, child.name)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  }
}

/** Tries to make (and keep) a parent group of ours under `base`; returns it when that works. */
async function makeParent(base: string, tag: string): Promise<string | undefined> {
  if (!existsSync(base) || !(await writable(base))) return undefined;
  await removeStaleParents(base);
  const dir = path.join(base, `${PARENT_NAME}-${tag}`);
  try {
    await mkdir(dir, { recursive: true });
    return dir;
  } catch {
    return undefined;
  }
}

export async function detectCgroups(tag: string, disabled = false): Promise<CgroupSupport> {
  if (disabled) return { mode: 'none', detail: 'disabled by configuration', roots: {} };
  const ownPaths = await ownCgroupPaths();
  // v2: only usable when the unified tree has the controllers we need delegated to us.
  const unified = '/sys/fs/cgroup';
  const unifiedControllers = await readFile(path.join(unified, 'cgroup.controllers'), 'utf8').catch(() => undefined);
  if (unifiedControllers !== undefined && /\bmemory\b/.test(unifiedControllers) && /\bpids\b/.test(unifiedControllers)) {
    const base = path.join(unified, ownPaths.get('') ?? '/');
    const parent = await makeParent(base, tag);
    if (parent) {
      // Leaf processes cannot live beside child groups in v2, so our parent only holds groups.
      await writeFile(path.join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(() => undefined);
      return { mode: 'v2', detail: `cgroup v2 at ${parent}`, roots: { '': parent } };
    }
  }
  const roots: Record<string, string> = {};
  for (const controller of V1_CONTROLLERS) {
    const mount = path.join('/sys/fs/cgroup', controller);
    if (!existsSync(path.join(mount, 'cgroup.procs'))) continue;
    // Below our own group where we can (runs stay inside whatever limits the server itself has);
    // else at the mount, which inside a container is usually the container's own group already.
    const own = path.join(mount, ownPaths.get(controller) ?? '/');
    const parent = (own !== mount ? await makeParent(own, tag) : undefined) ?? (await makeParent(mount, tag));
    if (parent) roots[controller] = parent;
  }
  if (roots.pids && roots.freezer && roots.memory && roots.cpuacct) {
    return { mode: 'v1', detail: `cgroup v1 (${Object.keys(roots).join(', ')})`, roots };
  }
  for (const dir of Object.values(roots)) await rmdir(dir).catch(() => undefined);
  return { mode: 'none', detail: 'no writable cgroup hierarchy with memory, pids, freezer and cpu accounting', roots: {} };
}

/** Whether pids.events (v1 and v2 alike) counts a fork the kernel refused for pids.max. */
function forkRefusedIn(pidEvents: string): boolean {
  return /max [1-9]/.test(pidEvents);
}

/** One run's groups. Create with `RunCgroup.create`, always `remove()` when done. */
export class RunCgroup {
  /** pids.events, kept open: a session asks after every cell (see forkRefused). */
  private pidEvents: { fd: number; buffer: Buffer } | null | undefined;

  private constructor(
    private readonly support: CgroupSupport,
    private readonly dirs: Record<string, string>,
  ) {}

  /**
   * Whether the kernel has refused a fork for the process limit: the same fact as `metrics()`'s
   * processLimitHit, read synchronously from a descriptor opened once (microseconds, where
   * `metrics()` reads five files through the thread pool), so a REPL cell can be checked as it ends.
   */
  forkRefused(): boolean {
    if (this.pidEvents === undefined) {
      const dir = this.support.mode === 'v2' ? this.dirs[''] : this.dirs.pids;
      try {
        this.pidEvents = dir ? { fd: openSync(path.join(dir, 'pids.events'), 'r'), buffer: Buffer.alloc(64) } : null;
      } catch {
        this.pidEvents = null;
      }
    }
    if (!this.pidEvents) return false;
    try {
      const length = readSync(this.pidEvents.fd, this.pidEvents.buffer, 0, this.pidEvents.buffer.length, 0);
      return forkRefusedIn(this.pidEvents.buffer.toString('latin1', 0, length));
    } catch {
      return false;
    }
  }

  static async create(support: CgroupSupport, name: string, limits: CgroupLimits): Promise<RunCgroup | undefined> {
    if (support.mode === 'none') return undefined;
    const dirs: Record<string, string> = {};
    try {
      for (const [controller, root] of Object.entries(support.roots)) {
        const dir = path.join(root, name);
        await mkdir(dir);
        dirs[controller] = dir;
      }
      const group = new RunCgroup(support, dirs);
      await group.applyLimits(limits);
      return group;
    } catch {
      await new RunCgroup(support, dirs).remove();
      return undefined;
    }
  }

  /** Reopens a group recorded earlier (a background process outlives the server that made it). */
  static reopen(mode: CgroupMode, dirs: Record<string, string>): RunCgroup {
    return new RunCgroup({ mode, detail: 'reopened', roots: {} }, { ...dirs });
  }

  /** The group's directories, for a record that a later server reopens to kill and remove it. */
  directories(): Record<string, string> {
    return { ...this.dirs };
  }

  /** Files a launcher writes its own pid into before exec, so the program starts inside. */
  procFiles(): string[] {
    return Object.values(this.dirs).map((dir) => path.join(dir, 'cgroup.procs'));
  }

  private async applyLimits(limits: CgroupLimits): Promise<void> {
    const { memoryBytes, maxProcesses } = limits;
    if (this.support.mode === 'v2') {
      const dir = this.dirs[''];
      if (!dir) return;
      if (memoryBytes) {
        await writeFile(path.join(dir, 'memory.max'), String(memoryBytes));
        await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      }
      if (maxProcesses) await writeFile(path.join(dir, 'pids.max'), String(maxProcesses));
      return;
    }
    if (memoryBytes && this.dirs.memory) {
      await writeFile(path.join(this.dirs.memory, 'memory.limit_in_bytes'), String(memoryBytes));
      // Without this, swap lets a run exceed its memory limit silently.
      await writeFile(path.join(this.dirs.memory, 'memory.memsw.limit_in_bytes'), String(memoryBytes)).catch(() => undefined);
    }
    if (maxProcesses && this.dirs.pids) await writeFile(path.join(this.dirs.pids, 'pids.max'), String(maxProcesses));
  }

  async pids(): Promise<number[]> {
    const file = this.support.mode === 'v2' ? this.dirs[''] : this.dirs.pids;
    if (!file) return [];
    const text = await readFile(path.join(file, 'cgroup.procs'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  }

  /** Kills every process in the group, fork bombs included, and waits until the group is empty. */
  async killAll(): Promise<void> {
    // The common case after a normal exit: nothing left, so skip the freeze round trip.
    if ((await this.pids()).length === 0) return;
    if (this.support.mode === 'v2') {
      const dir = this.dirs[''];
      if (dir && (await writeFile(path.join(dir, 'cgroup.kill'), '1').then(() => true, () => false))) {
        await this.waitEmpty();
        return;
      }
    }
    const freezer = this.dirs.freezer;
    // Freezing first means no process can fork between our read of the list and our kill.
    if (freezer) await writeFile(path.join(freezer, 'freezer.state'), 'FROZEN').catch(() => undefined);
    for (let round = 0; round < 50; round++) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      if (freezer) await writeFile(path.join(freezer, 'freezer.state'), 'THAWED').catch(() => undefined);
      await sleep(round < 5 ? 2 : 20);
      if (freezer && round < 49) await writeFile(path.join(freezer, 'freezer.state'), 'FROZEN').catch(() => undefined);
    }
    if (freezer) await writeFile(path.join(freezer, 'freezer.state'), 'THAWED').catch(() => undefined);
    await this.waitEmpty();
  }

  private async waitEmpty(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await this.pids()).length === 0) return;
      await sleep(5);
    }
  }

  async metrics(): Promise<CgroupMetrics> {
    const read = async (dir: string | undefined, file: string): Promise<string | undefined> =>
      dir ? readFile(path.join(dir, file), 'utf8').catch(() => undefined) : undefined;
    if (this.support.mode === 'v2') {
      const dir = this.dirs[''];
      const cpu = await read(dir, 'cpu.stat');
      const usec = cpu ? /usage_usec (\d+)/.exec(cpu)?.[1] : undefined;
      const peak = await read(dir, 'memory.peak');
      const events = (await read(dir, 'memory.events')) ?? '';
      const pidEvents = (await read(dir, 'pids.events')) ?? '';
      return {
        cpuMs: usec ? Number(usec) / 1000 : null,
        peakMemoryBytes: peak ? Number(peak) : null,
        memoryLimitHit: /\b(oom_kill|max) [1-9]/.test(events),
        processLimitHit: forkRefusedIn(pidEvents),
      };
    }
    const usage = await read(this.dirs.cpuacct, 'cpuacct.usage');
    const peak = await read(this.dirs.memory, 'memory.max_usage_in_bytes');
    const failcnt = await read(this.dirs.memory, 'memory.failcnt');
    const oom = (await read(this.dirs.memory, 'memory.oom_control')) ?? '';
    // failcnt also counts page-cache reclaim at the limit (writing a big file); oom_kill, where the
    // kernel has it, counts only real kills.
    const oomKills = /oom_kill (\d+)/.exec(oom)?.[1];
    const pidEvents = (await read(this.dirs.pids, 'pids.events')) ?? '';
    return {
      cpuMs: usage ? Number(usage) / 1e6 : null,
      peakMemoryBytes: peak ? Number(peak) : null,
      memoryLimitHit: oomKills !== undefined ? Number(oomKills) > 0 : failcnt !== undefined && Number(failcnt) > 0,
      processLimitHit: forkRefusedIn(pidEvents),
    };
  }

  async remove(): Promise<void> {
    if (this.pidEvents) closeSync(this.pidEvents.fd);
    this.pidEvents = null;
    for (const dir of Object.values(this.dirs)) {
      for (let i = 0; i < 20; i++) {
        const ok = await rmdir(dir).then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
        if (ok) break;
        await sleep(10);
      }
    }
  }
}

/** Removes the runtime's parent groups (they are empty once every run is removed). */
export async function removeCgroupParents(support: CgroupSupport): Promise<void> {
  for (const dir of Object.values(support.roots)) await rmdir(dir).catch(() => undefined);
}
