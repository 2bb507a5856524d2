// (d) an MCP round trip of a no-op tool through our own server stack (bench/noop-server.mjs):
// what Hangar adds to every call before any work happens.
import path from 'node:path';
import { CLEAN_PATH, NODE, ROOT, connectStdio, cpuMsOf, removeDir, tempDir } from './lib.mjs';

/** `dist` may be another build's dist/ directory (run.mjs --baseline-cli) for an A/B run. */
export const makeNoop = (dist = undefined, id = 'd', label = '') => ({
  id,
  title: `no-op tool round trip, hangar tool host over MCP stdio${label}`,
  n: 2000,
  quickN: 400,
  warmup: 200,
  async setup() {
    const dataDir = await tempDir('d');
    const session = await connectStdio({
      command: NODE,
      args: [path.join(ROOT, 'bench/noop-server.mjs'), dataDir],
      env: { PATH: CLEAN_PATH, ...(dist ? { HANGAR_BENCH_DIST: path.resolve(dist) } : {}) },
    });
    let i = 0;
    const call = async () => {
      const n = i++;
      const result = await session.client.callTool({ name: 'noop', arguments: { n } });
      if (result.isError || result.structuredContent?.n !== n) throw new Error(`noop failed: ${JSON.stringify(result).slice(0, 300)}`);
    };
    await call();
    // Server CPU per call (user + sys from /proc, 10 ms ticks): work that overlaps the reply, such
    // as the audit append, does not show in the round trip but competes for the same 2 cores.
    const cpuStart = await cpuMsOf(session.pid);
    let calls = 0;
    let note = 'zod in/out, audit line, structured result';
    return {
      get note() {
        return note;
      },
      async sample() {
        calls++;
        const t0 = performance.now();
        await call();
        return performance.now() - t0;
      },
      async teardown() {
        note += `; server CPU ${((await cpuMsOf(session.pid)) - cpuStart) / Math.max(1, calls)} ms/call`.replace(/(\.\d{3})\d+/, '$1');
        await session.close();
        await removeDir(dataDir);
      },
    };
  },
});

export default makeNoop();
