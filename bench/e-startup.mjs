// (e) server start to first answered request: spawn the built CLI, connect (initialize), listTools.
// (e0) bare `node -e 0` start for reference: the floor any Node server pays.
import { CLI, NODE, connectStdio, cpuMsOf, hangarServeArgs, removeDir, runToExit, tempDir } from './lib.mjs';

/** `cli` may be another build of Hangar (run.mjs --baseline-cli) for an A/B comparison in one run. */
export const makeStartup = (cli = CLI, id = 'e', label = '') => ({
  id,
  title: `server start → first answered request (spawn, initialize, tools/list)${label}`,
  n: 20,
  quickN: 6,
  warmup: 2,
  async setup() {
    const dirs = [];
    const cpu = [];
    return {
      get note() {
        const mean = cpu.reduce((a, b) => a + b, 0) / Math.max(1, cpu.length);
        return `fresh data dir per start; server CPU (user+sys) at first answer: mean ${mean.toFixed(0)} ms`;
      },
      async sample() {
        const dataDir = await tempDir('e');
        dirs.push(dataDir);
        const t0 = performance.now();
        const session = await connectStdio(hangarServeArgs(dataDir, [], cli));
        const { tools } = await session.client.listTools();
        const ms = performance.now() - t0;
        cpu.push(await cpuMsOf(session.pid));
        if (!tools.some((t) => t.name === 'run_code')) throw new Error('tools/list has no run_code');
        await session.close();
        return ms;
      },
      async teardown() {
        await Promise.all(dirs.map(removeDir));
      },
    };
  },
});

export const startup = makeStartup();

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
