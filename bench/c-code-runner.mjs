// (c) the peer users pick today: npm `mcp-server-code-runner` running print(1) over MCP stdio.
// Its tool `run-code` writes the code to $TMPDIR/tmp.py and runs `python -u <file>` through
// child_process.exec (a shell), so `python` comes from PATH. For a fair comparison we give it a
// PATH whose first entry holds one symlink, python → /usr/bin/python3: the same interpreter as (a)
// and (b), never the pyenv shim. TMPDIR is private so it cannot clash with anything else on the box.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CLEAN_PATH, NODE, PYTHON, connectStdio, removeDir, tempDir, textOf } from './lib.mjs';

const require = createRequire(import.meta.url);

function codeRunnerCli() {
  // Its exports map hides package.json: find the package root from its entry point.
  let dir = path.dirname(require.resolve('mcp-server-code-runner'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['mcp-server-code-runner'];
  return { cli: path.join(path.dirname(pkgFile), bin), version: pkg.version };
}

export default {
  id: 'c',
  title: 'run-code print(1), mcp-server-code-runner over MCP stdio',
  n: 200,
  quickN: 40,
  warmup: 10,
  async setup() {
    const dir = await tempDir('c');
    const binDir = path.join(dir, 'bin');
    const tmp = path.join(dir, 'tmp');
    await mkdir(binDir);
    await mkdir(tmp);
    await symlink(PYTHON, path.join(binDir, 'python'));
    const { cli, version } = codeRunnerCli();
    const session = await connectStdio({
      command: NODE,
      args: [cli],
      env: { PATH: `${binDir}:${CLEAN_PATH}`, TMPDIR: tmp, HOME: dir },
    });
    const call = async () => {
      const result = await session.client.callTool({ name: 'run-code', arguments: { code: 'print(1)', languageId: 'python' } });
      if (result.isError || textOf(result) !== '1\n') throw new Error(`run-code did not print 1: ${JSON.stringify(result).slice(0, 400)}`);
    };
    await call();
    return {
      note: `v${version}; python → ${PYTHON} via PATH symlink`,
      async sample() {
        const t0 = performance.now();
        await call();
        return performance.now() - t0;
      },
      async teardown() {
        await session.close();
        await removeDir(dir);
      },
    };
  },
};
