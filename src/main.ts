// The CLI program: `hangar serve | run | doctor`. Started by src/cli.ts (the bin), from the bundle when there is one.
import { createRequire } from 'node:module';
import { buildConfig, ConfigError, fromEnv, fromFile, fromFlags } from './config/load.js';
import { connectHint, helpText } from './cli/help.js';
import { parseCli, UsageError } from './cli/parse.js';
import { serve } from './cli/serve.js';
import { createLogger } from './runtime/logger.js';
import { createRuntime } from './runtime/runtime.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

async function main(argv: string[]): Promise<number> {
  const parsed = parseCli(argv);
  if (parsed === 'version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (parsed === 'help') {
    process.stdout.write(helpText(version));
    return 0;
  }
  const { command, values, positionals } = parsed;
  const file = typeof values.config === 'string' ? await fromFile(values.config) : {};
  const config = buildConfig(file, fromEnv(process.env), fromFlags(values));
  switch (command) {
    case 'serve':
      return serve(config);
    // Commands other than serve load their code on demand: server start-up is a target (DESIGN.md 9).
    case 'run': {
      const { runOnce } = await import('./cli/run.js');
      return runOnce(config, values, positionals);
    }
    case 'doctor': {
      const [{ doctor }, { formatDoctor }] = await Promise.all([import('./runtime/doctor.js'), import('./cli/doctor.js')]);
      const runtime = await createRuntime(config, { logger: createLogger('error') });
      try {
        const report = await doctor(runtime);
        process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
        return 0;
      } finally {
        await runtime.close();
      }
    }
    case 'help':
      process.stdout.write(`${helpText(version)}\n${connectHint()}`);
      return 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Handles left by a transport must not keep a finished server alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`hangar: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`hangar: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
