// Writes the tools' JSON schemas to dist/tool-schemas.json. Bundles the CLI program (src/main.ts) and its dependencies (zod, the MCP SDK) into one CommonJS
// file, dist/hangar.cjs, then records V8's code cache for it (dist/hangar.cjs.cache) by driving one
// real start: dist/cli.js (the bin) compiles the bundle with that cache. Server start-up is a target
// (DESIGN.md section 9); see BENCHMARKS.md for what each step saves. The rest of dist/ stays as tsc
// wrote it: tests and benchmarks import runtime modules from there.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const BUNDLE = path.join(DIST, 'hangar.cjs');

/**
 * Each source file keeps the module URL it has in dist/ (e.g. dist/runtime/drivers.js), so paths it
 * resolves against `import.meta.url` (drivers, the supervisor script, package.json) stay right.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(SRC + path.sep) || !text.includes('import.meta.url')) return undefined;
      const built = `./${path.relative(SRC, args.path).split(path.sep).join('/').replace(/\.ts$/, '.js')}`;
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(built)}, __hangarDistUrl).href`), loader: 'ts' };
    });
  },
};

// The tools' JSON schemas, made once here instead of at every start (src/server/tool-host.ts).
const { ALL_TOOLS } = await import(path.join(DIST, 'tools/index.js'));
const { toolJsonSchemas } = await import(path.join(DIST, 'server/tool-host.js'));
await writeFile(path.join(DIST, 'tool-schemas.json'), JSON.stringify(toolJsonSchemas(ALL_TOOLS)));

await build({
  entryPoints: [path.join(SRC, 'main.ts')],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Native or service-process packages, required on first use from node_modules.
  external: ['zeromq', 'esbuild'],
  // import() becomes require(): a vm.Script (how the bin compiles the bundle) cannot import().
  supported: { 'dynamic-import': false },
  banner: { js: 'const __hangarDistUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [keepModuleUrls],
  logLevel: 'warning',
  legalComments: 'none',
});

/** One start of the bin (initialize, tools/list, stdin closed); on exit it writes the code cache. */
async function recordCodeCache() {
  await rm(`${BUNDLE}.cache`, { force: true });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hangar-build-'));
  try {
    const child = spawn(process.execPath, [path.join(DIST, 'cli.js'), 'serve', '--data-dir', dataDir, '--log-level', 'error'], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { PATH: '/usr/bin:/bin', HANGAR_BUILD_CODE_CACHE: '1' },
    });
    const requests = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'build', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
    ];
    for (const request of requests) child.stdin.write(`${JSON.stringify(request)}\n`);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('"id":2')) child.stdin.end();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    if (code !== 0 || !out.includes('"id":2')) process.stderr.write(`bundle: no code cache recorded (the warm-up start exited with ${code}); start-up will be slower\n`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

await recordCodeCache();
