import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SERVE_FLAGS } from '../config/flags.js';

/** A usage mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const COMMANDS = ['serve', 'run', 'doctor', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

type Options = NonNullable<ParseArgsConfig['options']>;

export function serveOptions(): Options {
  const options: Options = { config: { type: 'string' } };
  for (const spec of SERVE_FLAGS) {
    options[spec.flag] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
    if (spec.negation) options[spec.negation] = { type: 'boolean' };
  }
  return options;
}

export interface ParsedCli {
  command: Command;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

const RUN_OPTIONS: Options = {
  language: { type: 'string', short: 'l' },
  timeout: { type: 'string' },
  stdin: { type: 'string' },
};

export function parseCli(argv: string[]): ParsedCli | 'version' | 'help' {
  const first = argv[0];
  if (first === '--version' || first === '-v') return 'version';
  if (first === '--help' || first === '-h' || first === 'help') return 'help';
  const explicit = first !== undefined && !first.startsWith('-');
  if (explicit && !(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`unknown command "${first}"; commands: serve, run, doctor (see hangar --help)`);
  }
  const command = (explicit ? first : 'serve') as Command;
  const rest = explicit ? argv.slice(1) : argv;
  if (rest.includes('--help') || rest.includes('-h')) return 'help';
  const options: Options = { ...serveOptions(), ...(command === 'run' ? RUN_OPTIONS : {}), json: { type: 'boolean' } };
  try {
    const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: command === 'run', strict: true });
    return { command, values: values as ParsedCli['values'], positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }
}
