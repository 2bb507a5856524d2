// A Hangar server with one no-op tool, served over stdio by our own tool host and transport: the
// round trip (d) measures is JSON-RPC framing + SDK dispatch + ToolHost (zod validation, audit line,
// structured result) + stdio, with no work in the tool. Usage: node bench/noop-server.mjs DATA_DIR
import { z } from 'zod';
import { ConfigSchema } from '../dist/config/schema.js';
import { createHangarServer } from '../dist/server/create-server.js';
import { runStdio } from '../dist/server/transports/stdio.js';
import { createRuntime } from '../dist/runtime/runtime.js';
import { createLogger } from '../dist/runtime/logger.js';
import { defineTool, READ_ONLY } from '../dist/tools/define.js';

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
