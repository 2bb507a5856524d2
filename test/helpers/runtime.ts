import { rm } from 'node:fs/promises';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { tempDir } from './cli.js';

/** A runtime on its own temporary data directory, for in-process tests. */
export async function testRuntime(overrides: ConfigInput = {}): Promise<Runtime & { dispose(): Promise<void> }> {
  const dataDir = await tempDir('hangar-rt-');
  const runtime = await createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'silent', ...overrides }), { logger: createLogger('silent') });
  return Object.assign(runtime, {
    async dispose() {
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}
