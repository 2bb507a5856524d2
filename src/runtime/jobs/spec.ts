import { realpath, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { HangarError } from '../errors.js';
import { isWithin } from '../workspaces/safe-path.js';

/** The declarative job spec of the Remote Jupyter bridge, run locally ("remote" = the workspace). */
const commandSchema = z.union([z.string().min(1).max(100_000), z.array(z.string().max(100_000)).min(1).max(1000)]);
const envSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'env names are letters, digits and "_"'), z.string().max(100_000)).default({});
const rel = z.string().max(4096);
const network = z.enum(['off', 'on']).default('off');

export const JobSpecSchema = z.object({
  /** The sandbox level of every command (default: the operator's); network is chosen per phase below. */
  sandbox: z.enum(['process', 'isolated']).optional(),
  sync: z
    .array(z.object({ local_dir: z.string().min(1).max(4096), remote_dir: rel.default(''), exclude: z.array(z.string().max(256)).max(100).default([]) }))
    .max(20)
    .default([]),
  bootstrap: z
    .object({
      commands: z.array(commandSchema).max(100).default([]),
      cwd: rel.default(''),
      env: envSchema,
      timeout_s_per_command: z.number().positive().optional(),
      fail_fast: z.boolean().default(true),
      /** "on" for installs that download (if the operator allows network). */
      network,
    })
    .optional(),
  run: z.object({ command: commandSchema, cwd: rel.default(''), env: envSchema, log_path: rel.optional(), timeout_s: z.number().positive().max(604800).optional(), network }),
  artifacts: z.array(z.union([rel, z.object({ remote_path: rel }), z.object({ remote_dir: rel })])).max(200).default([]),
});

export type JobSpec = z.output<typeof JobSpecSchema>;

export function toArgv(command: string | string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
}

export function artifactPath(artifact: JobSpec['artifacts'][number]): string {
  return typeof artifact === 'string' ? artifact : 'remote_path' in artifact ? artifact.remote_path : artifact.remote_dir;
}

/**
 * Host directories a job reads (sync) or writes (collect) must lie inside an operator's
 * --allow-dir root, checked on the real path (symlinks followed) at the time of use.
 */
export async function allowedHostDir(allowDirs: readonly string[], dir: string, create: boolean): Promise<string> {
  const deny = (why: string): never => {
    const roots = allowDirs.length === 0 ? 'none are allowed yet' : `allowed: ${allowDirs.join(', ')}`;
    throw new HangarError('POLICY_DENIED', `host directory "${dir.slice(0, 200)}" ${why} (${roots}); the operator can allow a root with --allow-dir DIR (or HANGAR_ALLOW_DIR)`);
  };
  if (!path.isAbsolute(dir) || dir.includes('\0')) deny('is not an absolute path');
  const roots = await Promise.all(allowDirs.map((d) => realpath(d).catch(() => undefined)));
  const lexical = path.resolve(dir);
  const insideSome = (target: string): boolean => roots.some((root) => root !== undefined && isWithin(root, target));
  if (!insideSome(lexical) && !allowDirs.some((d) => isWithin(path.resolve(d), lexical))) deny('is outside the allowed roots');
  if (create) await mkdir(lexical, { recursive: true });
  const real = await realpath(lexical).catch(() => undefined);
  if (!real) throw new HangarError('FILE_NOT_FOUND', `host directory "${dir.slice(0, 200)}" does not exist`);
  if (!insideSome(real)) deny('resolves (through a symlink) outside the allowed roots');
  return real;
}
