// (e) server start to first answered request: spawn the built CLI, connect (initialize), listTools.
// (e0) bare `node -e 0` start for reference: the floor any Node server pays.
import { NODE, connectStdio, hangarServeArgs, removeDir, runToExit, tempDir } from './lib.mjs';

export const startup = {
  id: 'e',
  title: 'server start → first answered request (spawn, initialize, tools/list)',
  n: 20,
  quickN: 6,
  warmup: 2,
  async setup() {
    const dirs = [];
    return {
      note: 'fresh data dir per start',
      async sample() {
        const dataDir = await tempDir('e');
        dirs.push(dataDir);
        const t0 = performance.now();
        const session = await connectStdio(hangarServeArgs(dataDir));
        const { tools } = await session.client.listTools();
        const ms = performance.now() - t0;
        if (!tools.some((t) => t.name === 'run_code')) throw new Error('tools/list has no run_code');
        await session.close();
        return ms;
      },
      async teardown() {
        await Promise.all(dirs.map(removeDir));
      },
    };
  },
};

export const nodeStart = {
  id: 'e0',
  title: 'reference: bare `node -e 0` start to exit',
  n: 20,
  quickN: 6,
  warmup: 2,
  async setup() {
    return {
      note: NODE,
      async sample() {
        const t0 = performance.now();
        await runToExit(NODE, ['-e', '0']);
        return performance.now() - t0;
      },
      async teardown() {},
    };
  },
};
