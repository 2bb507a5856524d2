// Bundles the CLI (dist/cli.js, the package's bin) into one ES module with its dependencies (zod, the
// MCP SDK), so a server starts by compiling one file instead of resolving and compiling ~500 modules
// (server start-up is a target: DESIGN.md section 9, BENCHMARKS.md). The rest of dist/ stays as tsc
// wrote it: tests and benchmarks import runtime modules from there, and the bundle's files find
// their neighbours (src/drivers, package.json) through the paths computed below.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');

/**
 * Each source file keeps the `import.meta.url` it has in dist/ (e.g. dist/runtime/drivers.js), so
 * paths it resolves against it (drivers, the supervisor script) stay right inside the bundle.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(SRC + path.sep) || !text.includes('import.meta.url')) return undefined;
      const built = path.relative(DIST, path.join(DIST, path.relative(SRC, args.path))).replace(/\.ts$/, '.js');
      const url = `new URL(${JSON.stringify(`./${built.split(path.sep).join('/')}`)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [path.join(SRC, 'cli.ts')],
  outfile: path.join(DIST, 'cli.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or service-process packages, loaded on first use from node_modules.
  external: ['zeromq', 'esbuild'],
  // Some bundled CommonJS code calls require(): give the ES module one.
  banner: { js: "import { createRequire as __hangarCreateRequire } from 'node:module'; const require = __hangarCreateRequire(import.meta.url);" },
  plugins: [keepModuleUrls],
  logLevel: 'warning',
  legalComments: 'none',
});
