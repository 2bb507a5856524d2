// (b) the baseline: bare `/usr/bin/python3 -c 'print(1)'` spawned from node, awaited to exit.
import { PYTHON, runToExit } from './lib.mjs';

export default {
  id: 'b',
  title: "bare /usr/bin/python3 -c 'print(1)' (spawn)",
  n: 200,
  quickN: 40,
  warmup: 10,
  async setup() {
    return {
      // fork() cost grows with the parent's RSS, so the spawning process's size matters (BENCHMARKS.md).
      get note() {
        return `${PYTHON}; spawned by the bench process (RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB)`;
      },
      async sample() {
        const t0 = performance.now();
        const out = await runToExit(PYTHON, ['-c', 'print(1)']);
        const ms = performance.now() - t0;
        if (out !== '1\n') throw new Error(`python printed ${JSON.stringify(out)}`);
        return ms;
      },
      async teardown() {},
    };
  },
};
