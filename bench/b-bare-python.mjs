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
      note: PYTHON,
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
