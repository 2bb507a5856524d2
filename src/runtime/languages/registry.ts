import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { HangarError } from '../errors.js';
import { LANGUAGE_TABLE, type LanguageEntry, type RunFiles } from './table.js';

export interface LanguageInfo {
  id: string;
  aliases: string[];
  extensions: string[];
  available: boolean;
  version: string | null;
  /** Absolute path of the program used. */
  path: string | null;
  /** Example command line(s): the compile step, then the program; `<src>` and `<build>` stand for the run's paths. */
  command: string | null;
}

export interface ResolvedLanguage {
  entry: LanguageEntry;
  tool: string;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Shims (pyenv, asdf, rbenv) re-exec through a shell script: slow, and they depend on our env.
 * rustup's proxies (rustc → rustup) need RUSTUP_HOME and the host's home, which runs do not get.
 */
function isShim(file: string): boolean {
  return /(^|\/)(shims|\.asdf\/shims)\//.test(file) || path.basename(file) === 'rustup';
}

/** Expands `~` (the host's home) and one `*` path segment, sorted so that the newest name wins last. */
async function expandPattern(pattern: string, home: string | undefined): Promise<string[]> {
  const full = pattern.startsWith('~/') ? (home ? path.join(home, pattern.slice(2)) : undefined) : pattern;
  if (!full) return [];
  const star = full.indexOf('*');
  if (star < 0) return [full];
  const dir = path.dirname(full.slice(0, star + 1));
  const rest = full.slice(dir.length + 1);
  const [segment = '', ...tail] = rest.split('/');
  const [prefix = '', suffix = ''] = segment.split('*');
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith(suffix))
    .sort()
    .map((n) => path.join(dir, n, ...tail));
}

/** Placeholders shown by list_languages and doctor for the paths a real run has. */
const EXAMPLE_FILES = (entry: LanguageEntry): RunFiles => ({
  source: `<src>/${typeof entry.sourceFile === 'string' ? entry.sourceFile : entry.sourceFile('public class Main {}')}`,
  buildDir: '<build>',
  tmpDir: '<tmp>',
  code: 'public class Main { public static void main(String[] a) {} }',
});

export function exampleCommand(entry: LanguageEntry, tool: string): string {
  const files = EXAMPLE_FILES(entry);
  const run = entry.command(tool, files, []).join(' ');
  return entry.compile ? `${entry.compile(tool, files).join(' ')} && ${run}` : run;
}

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(':')) {
    if (!dir || isShim(`${dir}/`)) continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function runVersion(tool: string, args: string[]): Promise<string | null> {
  if (args.length === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 5000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } }, (error, stdout, stderr) => {
      if (error) return resolve(null);
      const text = `${stdout}\n${stderr}`.trim();
      const match = /\d+\.\d+(\.\d+)?/.exec(text);
      resolve(match ? match[0] : (text.split('\n')[0] ?? null));
    });
  });
}

/**
 * Finds each language's toolchain once per runtime and remembers it. Versions are looked up on
 * demand (list_languages, doctor), not on the hot path.
 */
export class LanguageRegistry {
  private readonly resolved = new Map<string, Promise<string | undefined>>();
  private readonly versions = new Map<string, Promise<string | null>>();

  constructor(
    private readonly searchPath: string,
    private readonly nodePath: string = process.execPath,
    private readonly home: string | undefined = process.env.HOME,
  ) {}

  entries(): readonly LanguageEntry[] {
    return LANGUAGE_TABLE;
  }

  lookup(name: string): LanguageEntry | undefined {
    const key = name.trim().toLowerCase();
    return LANGUAGE_TABLE.find((l) => l.id === key || l.aliases.includes(key));
  }

  byExtension(file: string): LanguageEntry | undefined {
    const ext = path.extname(file).toLowerCase();
    return LANGUAGE_TABLE.find((l) => l.extensions.includes(ext));
  }

  private findTool(entry: LanguageEntry): Promise<string | undefined> {
    let found = this.resolved.get(entry.id);
    if (!found) {
      found = (async () => {
        for (const candidate of entry.candidates) {
          for (const file of await this.expand(candidate)) {
            if (!(await isExecutable(file))) continue;
            const real = await realpath(file).catch(() => file);
            if (!isShim(real)) return real;
          }
        }
        return undefined;
      })();
      this.resolved.set(entry.id, found);
    }
    return found;
  }

  private async expand(candidate: string): Promise<string[]> {
    if (candidate === '<node>') return [this.nodePath];
    if (candidate.startsWith('~/') || candidate.includes('*')) return expandPattern(candidate, this.home);
    if (path.isAbsolute(candidate)) return [candidate];
    const found = await findOnPath(candidate, this.searchPath);
    return found ? [found] : [];
  }

  /** The language and its program, or LANGUAGE_UNAVAILABLE naming the ones that are available. */
  async resolve(name: string): Promise<ResolvedLanguage> {
    const entry = this.lookup(name);
    const tool = entry ? await this.findTool(entry) : undefined;
    if (!entry || !tool) {
      const available = (await this.list()).filter((l) => l.available).map((l) => l.id);
      const why = entry ? `no ${entry.id} toolchain was found on this machine` : `"${name.slice(0, 40)}" is not a known language`;
      throw new HangarError('LANGUAGE_UNAVAILABLE', `${why}; available: ${available.join(', ')}`);
    }
    return { entry, tool };
  }

  async list(): Promise<LanguageInfo[]> {
    return Promise.all(
      LANGUAGE_TABLE.map(async (entry) => {
        const tool = await this.findTool(entry);
        let version: string | null = null;
        if (tool) {
          let pending = this.versions.get(entry.id);
          if (!pending) {
            pending = runVersion(tool, entry.versionArgs);
            this.versions.set(entry.id, pending);
          }
          version = await pending;
        }
        return {
          id: entry.id,
          aliases: entry.aliases,
          extensions: entry.extensions,
          available: tool !== undefined,
          version,
          path: tool ?? null,
          command: tool ? exampleCommand(entry, tool) : null,
        };
      }),
    );
  }
}
