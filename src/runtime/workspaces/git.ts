import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { HangarError } from '../errors.js';

/**
 * workspace_git_clone: the host's git, run from the server side (it needs the network; user code
 * does not), bounded by a timeout and the call's AbortSignal. Hostile input is refused before git
 * sees it: option-like URLs and branches, and the ext:: / fd:: transports that run commands.
 * Credentials in a URL are never echoed: not in results, errors, progress, or the audit log.
 */
export const GIT = '/usr/bin/git';
const ALLOWED_SCHEMES = ['https', 'http', 'ssh', 'git', 'file'];

export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

export function checkRepoUrl(url: string): void {
  const bad = (why: string): never => {
    throw new HangarError('INVALID_ARGUMENT', `repo_url ${why}; give an https://, ssh://, git:// or file:// URL (or user@host:path)`);
  };
  if (url.startsWith('-')) bad('looks like an option');
  if (/^[a-z0-9+.-]+::/i.test(url)) bad('uses a transport helper ("<transport>::"), which can run commands');
  if (url.trim() !== url || url.length === 0 || /[\0\s]/.test(url)) bad('is empty or contains whitespace');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined && !ALLOWED_SCHEMES.includes(scheme)) bad(`uses the unsupported scheme "${scheme}"`);
  if (scheme === undefined && !/^[\w.-]+@[\w.-]+:[^:]/.test(url)) bad('is not a URL');
}

export function defaultDirName(url: string): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).at(-1) ?? 'repo';
  return last.replace(/\.git$/, '') || 'repo';
}

export interface CloneRequest {
  url: string;
  dest: string;
  branch?: string;
  depth?: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (message: string, percent?: number) => void;
}

export async function gitClone(request: CloneRequest): Promise<{ duration_ms: number }> {
  checkRepoUrl(request.url);
  if (request.branch !== undefined && (request.branch.startsWith('-') || !/^[\w./-]{1,200}$/.test(request.branch))) {
    throw new HangarError('INVALID_ARGUMENT', `branch "${request.branch.slice(0, 60)}" is not a valid branch or tag name`);
  }
  const existing = await readdir(request.dest).catch(() => undefined);
  if (existing && existing.length > 0) {
    throw new HangarError('INVALID_ARGUMENT', 'the destination directory exists and is not empty; choose another dir_name or delete it first');
  }
  const args = ['-c', 'protocol.ext.allow=never', '-c', 'protocol.fd.allow=never', 'clone', '--progress', '--no-recurse-submodules'];
  if (request.depth !== undefined) args.push('--depth', String(request.depth));
  if (request.branch !== undefined) args.push('--branch', request.branch);
  args.push('--', request.url, request.dest);
  const started = performance.now();
  const child = spawn(GIT, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '/bin/false',
      SSH_ASKPASS: '/bin/false',
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
      GIT_PROTOCOL_FROM_USER: '0',
      GIT_ALLOW_PROTOCOL: ALLOWED_SCHEMES.join(':'),
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: '/nonexistent',
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 65536) stderr += chunk;
    const last = chunk.split(/[\r\n]/).filter(Boolean).at(-1);
    const percent = last ? /(\d+)%/.exec(last)?.[1] : undefined;
    if (last) request.onProgress?.(redactUrl(last.trim()), percent === undefined ? undefined : Number(percent));
  });
  let stopped: string | undefined;
  const stop = (why: string): void => {
    stopped ??= why;
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => stop(`timed out after ${request.timeoutMs / 1000} s`), request.timeoutMs);
  const onAbort = (): void => stop('cancelled');
  if (request.signal?.aborted) onAbort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  }).finally(() => {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
  });
  if (stopped === 'cancelled') throw new HangarError('CANCELLED', 'git clone was cancelled');
  if (stopped) throw new HangarError('TIMEOUT', `git clone ${stopped}; pass a larger timeout_s or a smaller depth`);
  if (code !== 0) {
    const lines = redactUrl(stderr).split(/[\r\n]/).filter((l) => l && !/^(Cloning into|remote: (Counting|Compressing|Enumerating)|Receiving|Resolving)/.test(l));
    throw new HangarError('INVALID_ARGUMENT', `git clone failed (exit ${code}): ${lines.slice(-5).join(' | ').slice(0, 1000) || 'no message'}`);
  }
  return { duration_ms: Math.round(performance.now() - started) };
}
