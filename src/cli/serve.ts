import { createHangarServer } from '../server/create-server.js';
import { runStdio } from '../server/transports/stdio.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../runtime/logger.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';

const RUNTIME_START_DELAY_MS = 50;
import { connectHint } from './help.js';

/** `hangar serve`: runs until stdin closes (stdio) or SIGTERM / SIGINT, then ends every child. */
export async function serve(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel);
  // The runtime (data directory, cgroups, re-attaching processes) starts just after serving does:
  // a client's first requests need none of it, and start-up is a target. The first call that needs
  // it starts it sooner; calls wait for it.
  let starting: Promise<Runtime> | undefined;
  const runtime = (): Promise<Runtime> => {
    if (!starting) {
      starting = createRuntime(config, { logger });
      starting.catch((error: unknown) => {
        logger.error(`could not start: ${error instanceof Error ? error.message : String(error)}`);
        void shutdown('start-up failed', 1);
      });
    }
    return starting;
  };
  setTimeout(() => void runtime(), RUNTIME_START_DELAY_MS);
  const hangar = createHangarServer(runtime, { config });

  let stopTransport: () => Promise<void> = async () => undefined;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let stopping = false;
  const shutdown = async (why: string, code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(`shutting down (${why})`);
    const force = setTimeout(() => resolveDone(code), 5000);
    force.unref();
    await stopTransport().catch(() => undefined);
    await hangar.close().catch((error: unknown) => logger.error('close failed', { error: String(error) }));
    clearTimeout(force);
    resolveDone(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  if (config.transport === 'http') {
    // Loaded only when asked for: the HTTP stack (and the fetch machinery it pulls in) is a third
    // of a stdio server's start-up time (see BENCHMARKS.md).
    const { runHttp } = await import('../server/transports/http.js');
    const http = await runHttp(hangar, config, logger);
    stopTransport = () => http.close();
    logger.info(`serving MCP at ${http.url}`);
  } else {
    if (process.stdin.isTTY) process.stderr.write(connectHint());
    const stdio = runStdio(hangar, (error) => logger.debug('stdio', { error: error.message }));
    stopTransport = () => stdio.close();
    void stdio.closed.then(() => shutdown('stdin closed'));
  }
  return done;
}
