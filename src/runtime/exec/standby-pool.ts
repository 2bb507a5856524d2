/**
 * The warm path (DESIGN.md section 9). A run's fixed costs come before its program: the server's
 * fork (≈ 5 ms for an 80 MiB process), the launcher and the cgroup, and at level isolated
 * bubblewrap's setup (new namespaces, a dozen mounts: ≈ 10 ms on a small machine). For a run shape
 * (language, environment, policy, arguments) used more than once, the pool keeps one process
 * launched ahead: its cgroup made and joined, its limits set, bubblewrap done where isolated, and a
 * shell waiting at its gate (GATE_ARGV). A call then writes its source and opens the gate; the
 * program starts as a fresh process in a sandbox nobody used before (python: the interpreter, started
 * ahead, runs the script). A standby is never reused: each one serves one run, and the next is
 * launched when that run is over.
 *
 * Shapes used once launch nothing (an agent's one-off runs cost no idle processes); an unused
 * standby ends after `idleMs`; at most `maxReady` wait at once (the least recently launched goes).
 */
export interface Standby {
  readonly key: string;
  /** False once its process has exited: it cannot serve a run. */
  readonly alive: boolean;
  /** Ends it unused and removes what it holds (processes, cgroup, directories). */
  dispose(): Promise<void>;
}

export interface StandbyPoolOptions {
  maxReady: number;
  idleMs: number;
}

/** How many recent shapes are remembered for the used-more-than-once rule. */
const SEEN_LIMIT = 256;

export class StandbyPool<S extends Standby> {
  private readonly ready = new Map<string, { standby: S; timer: NodeJS.Timeout }>();
  /** Launches under way, by key. A call does not wait for one (it runs cold): the launch is for the next call. */
  private readonly launching = new Map<string, Promise<void>>();
  private readonly seen = new Set<string>();
  private readonly disposals = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: StandbyPoolOptions) {}

  /** Standbys launched and waiting now. */
  get readyCount(): number {
    return this.ready.size;
  }

  get enabled(): boolean {
    return this.options.maxReady > 0 && !this.closed;
  }

  /** The standby launched for `key`, taken out of the pool; undefined when none is ready. */
  take(key: string): S | undefined {
    const entry = this.ready.get(key);
    if (!entry) return undefined;
    this.ready.delete(key);
    clearTimeout(entry.timer);
    if (entry.standby.alive) return entry.standby;
    this.dispose(entry.standby);
    return undefined;
  }

  /**
   * Called when a run of `key` is over: when the shape ran before (and none is ready or on its way),
   * launches the standby for its next run in the background. A failed launch only means the next run
   * is cold.
   */
  replenish(key: string, launch: () => Promise<S>): void {
    if (!this.enabled) return;
    const seenBefore = this.seen.delete(key);
    this.seen.add(key);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value as string);
    if (!seenBefore || this.ready.has(key) || this.launching.has(key)) return;
    const launched = launch()
      .then((standby) => this.add(standby))
      .catch(() => undefined)
      .finally(() => this.launching.delete(key));
    this.launching.set(key, launched);
  }

  private add(standby: S): void {
    if (this.closed || this.ready.has(standby.key)) {
      this.dispose(standby);
      return;
    }
    while (this.ready.size >= this.options.maxReady) {
      const oldest = this.ready.keys().next().value as string;
      this.dispose(this.take(oldest));
    }
    const timer = setTimeout(() => this.dispose(this.take(standby.key)), this.options.idleMs);
    timer.unref();
    this.ready.set(standby.key, { standby, timer });
  }

  /** Ends the ready standbys that `matches` selects (an environment about to be destroyed). */
  async drop(matches: (key: string) => boolean): Promise<void> {
    for (const key of [...this.ready.keys()]) if (matches(key)) this.dispose(this.take(key));
    await this.settled();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop(() => true);
    // Launches under way end in add(), which disposes them now that the pool is closed.
    await Promise.all([...this.launching.values()]);
    await this.settled();
  }

  private dispose(standby: S | undefined): void {
    if (!standby) return;
    const done = standby.dispose().catch(() => undefined);
    this.disposals.add(done);
    void done.finally(() => this.disposals.delete(done));
  }

  private async settled(): Promise<void> {
    await Promise.all([...this.disposals]);
  }
}
