import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { SERVE_FLAGS, type FlagSpec } from './flags.js';
import { ConfigSchema, type Config } from './schema.js';

/** A configuration problem the operator must fix; the CLI prints it on one line and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Raw = Record<string, unknown>;

function coerce(spec: FlagSpec, value: string, source: string): unknown {
  switch (spec.kind) {
    case 'string':
      return value;
    case 'number': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${source}: expected a number, got "${value}"`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw new ConfigError(`${source}: expected true or false, got "${value}"`);
    case 'list':
      return value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  }
}

export function fromEnv(environment: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  for (const spec of SERVE_FLAGS) {
    const value = environment[spec.env];
    if (value !== undefined && value !== '') out[spec.key] = coerce(spec, value, spec.env);
  }
  return out;
}

export function fromFlags(values: Record<string, string | boolean | undefined>): Raw {
  const out: Raw = {};
  for (const spec of SERVE_FLAGS) {
    const value = values[spec.flag];
    if (spec.negation && values[spec.negation] === true) out[spec.key] = false;
    if (value === undefined) continue;
    out[spec.key] = typeof value === 'boolean' ? value : coerce(spec, value, `--${spec.flag}`);
  }
  return out;
}

const FileSchema = z.object({ mcpServers: z.record(z.string(), z.unknown()).optional() }).catchall(z.unknown());

/** The --config file: JSON with the same keys as the flags (camelCase or kebab-case). */
export async function fromFile(file: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--config ${file}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = FileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`--config ${file}: the top level must be a JSON object`);
  const out: Raw = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (key === 'mcpServers' || key === '$schema') continue;
    const spec = SERVE_FLAGS.find((s) => s.key === key || s.flag === key);
    if (!spec) throw new ConfigError(`--config ${file}: unknown key "${key}"; known keys: ${SERVE_FLAGS.map((s) => s.key).join(', ')}`);
    out[spec.key] = spec.kind === 'list' && typeof value === 'string' ? coerce(spec, value, key) : value;
  }
  return out;
}

/** Defaults < config file < HANGAR_* variables < flags, validated by the one schema. */
export function buildConfig(...layers: Raw[]): Config {
  const merged: Raw = Object.assign({}, ...layers);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path[0];
    const spec = SERVE_FLAGS.find((s) => s.key === key);
    const where = spec ? `--${spec.flag}` : String(key ?? 'config');
    throw new ConfigError(`${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
