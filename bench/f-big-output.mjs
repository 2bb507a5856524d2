// (f) 1 GiB of output from user code: python writes 1 GiB to stdout in 1 MiB chunks through
// run_code. Server memory is read from /proc/<pid>/status (VmRSS sampled during the call, VmHWM
// after); the call must still return head + tail, with the whole stream kept by reference.
import { MiB, connectStdio, hangarServeArgs, memoryOf, removeDir, tempDir } from './lib.mjs';

const GiB = 1024 * MiB;
const CODE = [
  'import sys',
  "chunk = b'x' * 1048575 + b'\\n'",
  'w = sys.stdout.buffer.write',
  'for _ in range(1024):',
  '    w(chunk)',
].join('\n');

export default {
  id: 'f',
  title: '1 GiB stdout via run_code: server memory growth',
  async measure() {
    const dataDir = await tempDir('f');
    const session = await connectStdio(hangarServeArgs(dataDir));
    try {
      await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)' } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = await memoryOf(session.pid);
      let sampledMax = before.rss;
      const sampler = setInterval(() => {
        memoryOf(session.pid).then((m) => (sampledMax = Math.max(sampledMax, m.rss)), () => undefined);
      }, 20);
      const t0 = performance.now();
      const result = await session.client.callTool(
        { name: 'run_code', arguments: { code: CODE, timeout_s: 300 } },
        undefined,
        { timeout: 600_000 },
      );
      const ms = performance.now() - t0;
      clearInterval(sampler);
      const after = await memoryOf(session.pid);
      const out = result.structuredContent;
      const problems = [];
      if (result.isError || out?.status !== 'ok') problems.push(`status ${out?.status ?? 'tool error'}`);
      if (out?.truncated?.stdout_bytes !== GiB) problems.push(`stdout_bytes ${out?.truncated?.stdout_bytes}`);
      if (!/^x{1000}/.test(out?.stdout ?? '') || !/x{1000}\n$/.test(out?.stdout ?? '') || !/hidden/.test(out?.stdout ?? '')) {
        problems.push('no head + marker + tail');
      }
      const ref = out?.truncated?.stdout_ref_id;
      if (ref) {
        const end = await session.client.callTool({ name: 'get_content', arguments: { ref_id: ref, offset: GiB - 10, length: 10 } });
        const chunk = end.structuredContent;
        if (chunk?.text !== 'xxxxxxxxx\n' || chunk.total_bytes !== GiB) problems.push(`ref end read ${JSON.stringify(chunk?.text)} total ${chunk?.total_bytes}`);
      } else problems.push('no stdout ref');
      const peak = Math.max(sampledMax, after.hwm > before.hwm ? after.hwm : 0);
      const growth = (peak - before.rss) / MiB;
      return [
        {
          id: 'f',
          title: this.title,
          n: 1,
          measured: growth,
          unit: 'MiB',
          target: '< 64 MiB',
          pass: growth < 64 && problems.length === 0,
          note:
            `RSS before ${(before.rss / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB; call ${(ms / 1000).toFixed(1)} s ` +
            `(${(1024 / (ms / 1000)).toFixed(0)} MiB/s)` +
            (problems.length ? `; PROBLEMS: ${problems.join(', ')}` : '; head + tail returned, ref end readable'),
        },
      ];
    } finally {
      await session.close();
      await removeDir(dataDir);
    }
  },
};
