// (d) an MCP round trip of a no-op tool through our own server stack (bench/noop-server.mjs):
// what Hangar adds to every call before any work happens.
import path from 'node:path';
import { CLEAN_PATH, NODE, ROOT, connectStdio, removeDir, tempDir } from './lib.mjs';

export default {
  id: 'd',
  title: 'no-op tool round trip, hangar tool host over MCP stdio',
  n: 2000,
  quickN: 400,
  warmup: 200,
  async setup() {
    const dataDir = await tempDir('d');
    const session = await connectStdio({
      command: NODE,
      args: [path.join(ROOT, 'bench/noop-server.mjs'), dataDir],
      env: { PATH: CLEAN_PATH },
    });
    let i = 0;
    const call = async () => {
      const n = i++;
      const result = await session.client.callTool({ name: 'noop', arguments: { n } });
      if (result.isError || result.structuredContent?.n !== n) throw new Error(`noop failed: ${JSON.stringify(result).slice(0, 300)}`);
    };
    await call();
    return {
      note: 'zod in/out, audit line, structured result',
      async sample() {
        const t0 = performance.now();
        await call();
        return performance.now() - t0;
      },
      async teardown() {
        await session.close();
        await removeDir(dataDir);
      },
    };
  },
};
