// A Hangar server with one no-op tool, served over stdio by our own tool host and transport: the
// round trip (d) measures is JSON-RPC framing + SDK dispatch + ToolHost (zod validation, audit line,
// structured result) + stdio, with no work in the tool. Usage: node bench/noop-server.mjs DATA_DIR
// It imports the built dist/ (create-server, runtime, define, transports/stdio): run `npm run build` first.
import { z } from 'zod';
import { pathToFileURL } from 'node:url';

// HANGAR_BENCH_DIST: another build's dist/ directory, for A/B runs (run.mjs --baseline-cli).
const dist = process.env.HANGAR_BENCH_DIST ? pathToFileURL(`${process.env.HANGAR_BENCH_DIST}/`) : new URL('../dist/', import.meta.url);
const load = (file) => import(new URL(file, dist).href);
const { ConfigSchema } = await load('config/schema.js');
const { createHangarServer } = await load('server/create-server.js');
const { runStdio } = await load('server/transports/stdio.js');
const { createRuntime } = await load('runtime/runtime.js');
const { createLogger } = await load('runtime/logger.js');
const { defineTool, READ_ONLY } = await load('tools/define.js');

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: node bench/noop-server.mjs DATA_DIR\n');
  process.exit(2);
}

const noop = defineTool({
  name: 'noop',
  title: 'No-op',
  description: 'Returns its input; does nothing else.',
  toolset: 'execution',
  input: z.object({ n: z.number().int().optional() }),
  output: z.object({ ok: z.boolean(), n: z.number().int().nullable() }),
  annotations: READ_ONLY,
  handle: async (args) => ({ structured: { ok: true, n: args.n ?? null } }),
});

const logger = createLogger('warn');
const runtime = await createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'warn' }), { logger });
const hangar = createHangarServer(runtime, { tools: [noop] });
const stdio = runStdio(hangar, () => undefined);
await stdio.closed;
await stdio.close().catch(() => undefined);
await hangar.close();
process.exit(0);
