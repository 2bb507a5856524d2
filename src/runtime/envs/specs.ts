import { HangarError } from '../errors.js';

/**
 * Input checks for installs, run before anything is started. A package spec goes to pip as one
 * argument after `--`-free positional use, so the danger is a spec that pip would read as an
 * option (`--index-url=…`, `-r /etc/passwd`, `-e .`) or as a local path / file URL (which would
 * run a setup.py from anywhere on the host). Only PEP 508 requirements are accepted:
 * `name[extras] specifiers ; markers` or `name @ https://…`.
 */
const NAME = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?`;
const EXTRAS = String.raw`(?:\s*\[\s*[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\s*\])?`;
const VERSION_PART = String.raw`(?:\s*\(?\s*(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9._*+!-]+(?:\s*,\s*(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9._*+!-]+)*\s*\)?)?`;
const MARKER = String.raw`(?:\s*;\s*[A-Za-z0-9_.'"()<>=!~ \t-]+)?`;
const URL_PART = String.raw`\s*@\s*https?://[^\s;]+`;
const SPEC = new RegExp(`^${NAME}${EXTRAS}(?:${VERSION_PART}|${URL_PART})${MARKER}$`);

export const MAX_SPEC_CHARS = 1000;
export const MAX_SPECS = 500;

export function validateSpec(spec: string): string {
  const trimmed = spec.trim();
  const shown = JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed);
  if (trimmed.startsWith('-')) {
    throw new HangarError('INVALID_ARGUMENT', `package ${shown} looks like a pip option; give package names such as "requests" or "numpy>=1.26", and use the index_url / extra_index_url / find_links arguments for sources`);
  }
  if (trimmed.length === 0 || trimmed.length > MAX_SPEC_CHARS) {
    throw new HangarError('INVALID_ARGUMENT', `package spec must be 1 to ${MAX_SPEC_CHARS} characters`);
  }
  if (!SPEC.test(trimmed)) {
    throw new HangarError('INVALID_ARGUMENT', `package ${shown} is not a requirement pip accepts from Hangar: use "name", "name==1.2", "name[extra]>=1,<2", "name; python_version>'3.8'" or "name @ https://…" (no local paths, file: URLs or options)`);
  }
  return trimmed;
}

export function validateSpecs(specs: readonly string[]): string[] {
  if (specs.length === 0) throw new HangarError('INVALID_ARGUMENT', 'packages is empty; name at least one package');
  if (specs.length > MAX_SPECS) throw new HangarError('INVALID_ARGUMENT', `at most ${MAX_SPECS} packages per call`);
  return specs.map(validateSpec);
}

/** index_url / extra_index_url: http(s) URLs only. */
export function validateIndexUrl(url: string, what: string): string {
  if (url.length > 2048 || !/^https?:\/\/[^\s]+$/.test(url)) {
    throw new HangarError('INVALID_ARGUMENT', `${what} must be an http:// or https:// URL (at most 2048 characters)`);
  }
  return url;
}

/** find_links: an http(s) URL or an absolute local directory of archives. */
export function validateFindLinks(value: string): string {
  if (/^https?:\/\/[^\s]+$/.test(value) && value.length <= 2048) return value;
  if (value.startsWith('/') && !value.includes('\0') && !value.split('/').includes('..') && value.length <= 4096) return value;
  throw new HangarError('INVALID_ARGUMENT', 'find_links must be an http(s) URL or an absolute directory path without ".."');
}

/**
 * A requirements file, read by us rather than by pip, so a file cannot smuggle options
 * (`-r /etc/passwd`, `--index-url`, `-e`) past the checks above. Comments, blank lines and line
 * continuations are handled; any option line is refused with its line number.
 */
export function parseRequirements(text: string, file: string): string[] {
  const specs: string[] = [];
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  logical.forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    if (line.startsWith('-')) {
      throw new HangarError('INVALID_ARGUMENT', `${file} line ${index + 1}: options such as "${line.split(/[\s=]/)[0] ?? line}" are not accepted in requirements files; pass index_url / find_links as arguments and list only packages`);
    }
    try {
      specs.push(validateSpec(line));
    } catch (error) {
      if (error instanceof HangarError) throw new HangarError('INVALID_ARGUMENT', `${file} line ${index + 1}: ${error.message}`);
      throw error;
    }
  });
  if (specs.length === 0) throw new HangarError('INVALID_ARGUMENT', `${file} lists no packages`);
  return specs;
}

/** Progress steps parsed from pip's (and uv's) output: one per package resolved, downloaded, installed. */
export interface InstallStep {
  phase: 'resolving' | 'downloading' | 'installing' | 'done';
  message: string;
}

export function parseInstallerLine(line: string): InstallStep | undefined {
  const text = line.trim();
  let match: RegExpExecArray | null;
  if ((match = /^Collecting (\S+)/.exec(text))) return { phase: 'resolving', message: `resolving ${match[1]}` };
  if ((match = /^Processing (\S+)/.exec(text))) return { phase: 'resolving', message: `processing ${match[1]}` };
  if ((match = /^Requirement already satisfied: (\S+)/.exec(text))) return { phase: 'resolving', message: `already satisfied ${match[1]}` };
  if ((match = /^Downloading (\S+)/.exec(text))) return { phase: 'downloading', message: `downloading ${match[1]}` };
  if ((match = /^Installing collected packages: (.+)$/.exec(text))) return { phase: 'installing', message: `installing ${match[1]}` };
  if ((match = /^Successfully installed (.+)$/.exec(text))) return { phase: 'done', message: `installed ${match[1]}` };
  // uv
  if ((match = /^Resolved (\d+ packages?)/.exec(text))) return { phase: 'resolving', message: `resolved ${match[1]}` };
  if ((match = /^Prepared (\d+ packages?)/.exec(text))) return { phase: 'downloading', message: `prepared ${match[1]}` };
  if ((match = /^Installed (\d+ packages?)/.exec(text))) return { phase: 'done', message: `installed ${match[1]}` };
  return undefined;
}

/** Splits a byte stream into non-empty lines (long ones cut). */
export class LineSplitter {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split(/\r?\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-10_000);
    for (const line of lines) this.emit(line);
  }

  end(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }

  private emit(line: string): void {
    if (!line.trim()) return;
    this.onLine(line.length > 500 ? `${line.slice(0, 500)}…` : line);
  }
}
