import type { Config } from '../config/schema.js';
import { isHangarError } from '../runtime/errors.js';
import { createLogger } from '../runtime/logger.js';
import { createRuntime } from '../runtime/runtime.js';
import { UsageError } from './parse.js';

/** Reads all of stdin as a stream: opening /dev/stdin fails (ENXIO) when stdin is a socket, as under Node's spawn. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const EXIT_FOR_STATUS = { timeout: 124, killed: 137, cancelled: 130 } as const;

/** `hangar run`: one snippet from the shell; prints its output; exit code is the program's. */
export async function runOnce(config: Config, values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('hangar run takes exactly one CODE argument ("-" reads the code from stdin)');
  const code = positionals[0] === '-' ? await readStdin() : (positionals[0] ?? '');
  const timeout = typeof values.timeout === 'string' ? Number(values.timeout) : undefined;
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--timeout: expected a number of seconds above 0');
  const runtime = await createRuntime(config, { logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel) });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  try {
    const result = await runtime.exec.runCode({
      language: typeof values.language === 'string' ? values.language : 'python',
      code,
      stdin: typeof values.stdin === 'string' ? values.stdin : undefined,
      policy: { timeoutS: timeout },
      signal: controller.signal,
    });
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    if (result.error && result.error.traceback === null) process.stderr.write(`hangar: ${result.error.message}\n`);
    if (result.status === 'ok' || result.status === 'error') return result.exit_code ?? 1;
    return EXIT_FOR_STATUS[result.status];
  } catch (error) {
    if (isHangarError(error)) {
      process.stderr.write(`hangar: ${error.render()}\n`);
      return 2;
    }
    throw error;
  } finally {
    await runtime.close();
  }
}
