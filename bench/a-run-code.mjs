// (a) run_code `print(1)` through MCP stdio against the built CLI: the whole path an agent pays for.
// (a0) the same with --warm-sandboxes 0: every call cold (fork, launcher, cgroup in the call), as the
// first run of a shape is; (a) has the default warm path from its third call on.
import { CLI, MiB, connectStdio, hangarServeArgs, memoryOf, removeDir, tempDir } from './lib.mjs';

/** `cli` may be another build of Hangar (run.mjs --baseline-cli) for an A/B comparison in one run. */
export const makeRunCode = (cli = CLI, id = 'a', label = '', extraArgs = []) => ({
  id,
  title: `run_code print(1), hangar over MCP stdio${label}`,
  n: 200,
  quickN: 40,
  warmup: 10,
  async setup() {
    const dataDir = await tempDir('a');
    // Level process: the a/b target is about the process level (the isolated level is bench/sandbox.mjs).
    const session = await connectStdio(hangarServeArgs(dataDir, ['--sandbox', 'process', ...extraArgs], cli));
    const call = async () => {
      const result = await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)' } });
      const out = result.structuredContent;
      if (result.isError || out?.status !== 'ok' || out.stdout !== '1\n') {
        throw new Error(`run_code did not print 1: ${JSON.stringify(result).slice(0, 400)}`);
      }
      return out;
    };
    const first = await call();
    let note = `enforcement=${first.sandbox?.enforcement}, level=${first.sandbox?.level}`;
    return {
      get note() {
        return note;
      },
      async sample() {
        const t0 = performance.now();
        await call();
        return performance.now() - t0;
      },
      async teardown() {
        // Every run forks the server, and fork() costs grow with its RSS (BENCHMARKS.md).
        const { rss } = await memoryOf(session.pid);
        note += `; server RSS ${(rss / MiB).toFixed(0)} MiB`;
        await session.close();
        await removeDir(dataDir);
      },
    };
  },
});

export default makeRunCode();
export const runCodeCold = makeRunCode(CLI, 'a0', ', cold (--warm-sandboxes 0)', ['--warm-sandboxes', '0']);
