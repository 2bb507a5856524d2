// (g) idle server RSS: right after start (initialize + tools/list), and after 20 run_code calls.
import { MiB, connectStdio, hangarServeArgs, memoryOf, removeDir, tempDir } from './lib.mjs';

const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

export default {
  id: 'g',
  title: 'idle server RSS',
  async measure() {
    const dataDir = await tempDir('g');
    const session = await connectStdio(hangarServeArgs(dataDir));
    try {
      await session.client.listTools();
      await settle();
      const fresh = await memoryOf(session.pid);
      for (let i = 0; i < 20; i++) await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)' } });
      await settle();
      const used = await memoryOf(session.pid);
      const row = (suffix, m, what) => ({
        id: `g${suffix}`,
        title: `idle server RSS, ${what}`,
        n: 1,
        measured: m.rss / MiB,
        unit: 'MiB',
        target: '≤ 80 MiB',
        pass: m.rss / MiB <= 80,
        note: `VmHWM ${(m.hwm / MiB).toFixed(1)} MiB`,
      });
      return [row('', fresh, 'after start + tools/list'), row('+', used, 'after 20 run_code calls')];
    } finally {
      await session.close();
      await removeDir(dataDir);
    }
  },
};
