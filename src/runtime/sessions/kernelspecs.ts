import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** An installed Jupyter kernelspec (kernel.json), found where Jupyter itself looks. */
export interface KernelSpec {
  name: string;
  displayName: string;
  language: string;
  argv: string[];
  env: Record<string, string>;
  interruptMode: 'signal' | 'message';
  resourceDir: string;
}

/** Jupyter's data path order: user, then system; the first spec of a name wins (as in jupyter). */
export function kernelDirs(extra: string[] = []): string[] {
  return [
    ...extra,
    path.join(os.homedir(), '.local/share/jupyter/kernels'),
    '/usr/local/share/jupyter/kernels',
    '/usr/share/jupyter/kernels',
  ];
}

function parseSpec(name: string, dir: string, raw: unknown): KernelSpec | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const spec = raw as Record<string, unknown>;
  const argv = spec.argv;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) return undefined;
  const env: Record<string, string> = {};
  if (typeof spec.env === 'object' && spec.env !== null) {
    for (const [k, v] of Object.entries(spec.env)) if (typeof v === 'string') env[k] = v;
  }
  return {
    name,
    displayName: typeof spec.display_name === 'string' ? spec.display_name : name,
    language: typeof spec.language === 'string' ? spec.language : 'unknown',
    argv: argv as string[],
    env,
    interruptMode: spec.interrupt_mode === 'message' ? 'message' : 'signal',
    resourceDir: dir,
  };
}

export async function listKernelSpecs(extraDirs: string[] = []): Promise<KernelSpec[]> {
  const found = new Map<string, KernelSpec>();
  for (const root of kernelDirs(extraDirs)) {
    let names: string[];
    try {
      names = await readdir(root);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (found.has(name.toLowerCase())) continue;
      const dir = path.join(root, name);
      try {
        const spec = parseSpec(name, dir, JSON.parse(await readFile(path.join(dir, 'kernel.json'), 'utf8')));
        if (spec) found.set(name.toLowerCase(), spec);
      } catch {
        // Not a kernelspec (no or broken kernel.json): skip it, as jupyter does.
      }
    }
  }
  return [...found.values()];
}
