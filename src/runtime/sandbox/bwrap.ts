import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NetworkMode } from './policy.js';

/**
 * Level `isolated`: a bubblewrap command line that goes between the launcher (which has already
 * joined the run's cgroup and set rlimits) and the program, so every limit applies inside too.
 * New user / pid / ipc / uts / net / cgroup namespaces, read-only system, the source read-only,
 * the working directory read-write, a size-capped private /tmp, nothing else of the host.
 */

/** Where a run's directories appear inside the sandbox: fixed, so no host path leaks in. */
export const SANDBOX_PATHS = { work: '/workspace', src: '/source', tmp: '/tmp' } as const;

/** The unprivileged uid and gid a program runs as inside (nobody). */
export const SANDBOX_UID = 65534;

const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'];

/** Top-level system paths: bound read-only when a directory, recreated when a symlink (usr merge). */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** The pieces of /etc programs need to start; not /etc whole (shadow, ssh keys, ...). */
const ETC_ALWAYS = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/mime.types',
  '/etc/java-17-openjdk',
  '/etc/java-21-openjdk',
  '/etc/perl',
  '/etc/python3',
  '/etc/python3.11',
  '/etc/python3.12',
  '/etc/python3.13',
  '/etc/R',
  '/etc/php',
  '/etc/matplotlibrc',
  '/etc/fonts',
];

/** Only with network on: name resolution and TLS trust. */
const ETC_NETWORK = ['/etc/resolv.conf', '/etc/hosts', '/etc/host.conf', '/etc/gai.conf', '/etc/services', '/etc/protocols', '/etc/ssl', '/etc/ca-certificates', '/etc/pki'];

export interface IsolationSupport {
  available: boolean;
  bwrap: string | null;
  version: string | null;
  /** Why isolation is unavailable (empty when it works). */
  reason: string;
}

function run(file: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, env: { PATH: '/usr/bin:/bin' } }, (error, stdout, stderr) => {
      resolve({ ok: !error, out: `${stdout}${stderr}`.trim() });
    });
  });
}

/** Runs bubblewrap once with the namespaces a run uses; the verdict is kept by the caller. */
export async function probeIsolation(): Promise<IsolationSupport> {
  const bwrap = BWRAP_CANDIDATES.find((file) => existsSync(file));
  if (!bwrap) return { available: false, bwrap: null, version: null, reason: 'bubblewrap is not installed (apt-get install bubblewrap)' };
  const version = /\d+\.\d+(\.\d+)?/.exec((await run(bwrap, ['--version'])).out)?.[0] ?? null;
  const plan = bwrapArgs({ bwrap, workDir: os.tmpdir(), srcDir: os.tmpdir(), network: 'off', tmpBytes: 1048576, readOnly: [], env: {} });
  const test = await run(plan[0] ?? bwrap, [...plan.slice(1), '/bin/true']);
  if (!test.ok) {
    const line = test.out.split('\n')[0] || 'it exited with an error';
    return { available: false, bwrap, version, reason: `bubblewrap cannot create namespaces here: ${line}` };
  }
  return { available: true, bwrap, version, reason: '' };
}

export interface BwrapPlan {
  bwrap: string;
  /** Host directories: the run's working directory (read-write) and its source (read-only, at /source; none when omitted). */
  workDir: string;
  srcDir?: string;
  /** Where the program starts, inside (default /workspace): a background process may start in a subdirectory. */
  chdir?: string;
  network: NetworkMode;
  tmpBytes: number;
  /** Extra host directories to show read-only at the same path (toolchains outside /usr, an environment). */
  readOnly: string[];
  /** Extra host directories to show read-write at a fixed path inside (a compiler's output). */
  writable?: Array<{ host: string; inside: string }>;
  /** The whole environment of the program (bubblewrap starts from an empty one). */
  env: Record<string, string>;
}

function systemMounts(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_PATHS) {
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  return args;
}

/** The bubblewrap command line (program path first), ending in `--`: append the command. */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const args = [
    plan.bwrap,
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(plan.network === 'off' ? ['--unshare-net'] : []),
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--hostname', 'hangar',
    '--disable-userns',
    '--cap-drop', 'ALL',
    '--die-with-parent',
    '--new-session',
    ...systemMounts(),
  ];
  const etc = plan.network === 'on' ? [...ETC_ALWAYS, ...ETC_NETWORK] : ETC_ALWAYS;
  for (const file of etc) args.push('--ro-bind-try', file, file);
  args.push(
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(plan.tmpBytes), '--tmpfs', SANDBOX_PATHS.tmp,
    '--size', String(plan.tmpBytes), '--tmpfs', '/dev/shm',
  );
  // After /tmp: a toolchain or environment that lives under the host's /tmp must not be hidden by it.
  for (const dir of plan.readOnly) args.push('--ro-bind', dir, dir);
  args.push(
    ...(plan.srcDir === undefined ? [] : ['--ro-bind', plan.srcDir, SANDBOX_PATHS.src]),
    '--bind', plan.workDir, SANDBOX_PATHS.work,
    ...(plan.writable ?? []).flatMap((bind) => ['--bind', bind.host, bind.inside]),
    // The sandbox's root (a tmpfs holding the mount points) read-only too: nothing but the
    // working directory, /tmp and /dev/shm is writable.
    '--remount-ro', '/',
    '--chdir', plan.chdir ?? SANDBOX_PATHS.work,
    '--clearenv',
  );
  for (const [key, value] of Object.entries(plan.env)) args.push('--setenv', key, value);
  args.push('--');
  return args;
}

/** The descriptor bubblewrap reads its options from (`--args`): above the gate (3) and a session's pipes (3, 4). */
export const BWRAP_ARGS_FD = 9;

/**
 * A command that runs a program in the sandbox. bubblewrap's options (host paths of the data
 * directory, the program's environment, values a caller passed as secrets) are read from a pipe on
 * BWRAP_ARGS_FD (`argsPipe`, which the spawner writes and closes) instead of its command line: a
 * command line is readable by every user of the host (`ps`) and, as /proc/1/cmdline, by the program
 * in the sandbox. What both see is `bwrap --args 9 -- program …`.
 */
export interface SandboxedCommand {
  command: string[];
  argsPipe: Buffer;
}

export function sandboxedCommand(plan: BwrapPlan, program: string[]): SandboxedCommand {
  const [bwrap = '/usr/bin/bwrap', ...options] = bwrapArgs(plan);
  options.pop(); // the closing '--': it goes on the command line, before the program
  // `--args` splits on NUL: a NUL inside a value would smuggle in an option of its own (a bind).
  const bad = options.find((option) => option.includes('\0'));
  if (bad !== undefined) throw new Error(`a sandbox option contains a NUL byte: ${JSON.stringify(bad.slice(0, 80))}`);
  return { command: [bwrap, '--args', String(BWRAP_ARGS_FD), '--', ...program], argsPipe: Buffer.from(options.map((option) => `${option}\0`).join(''), 'utf8') };
}

const SYSTEM_PREFIXES = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/'];

/**
 * The host directories a toolchain needs beyond the system paths: the install prefix of the
 * program and of its symlink target (e.g. ~/.pyenv/versions/3.12.4 or /opt/node), read-only.
 */
export async function toolchainMounts(tool: string): Promise<string[]> {
  const real = await realpath(tool).catch(() => tool);
  const dirs = new Set<string>();
  for (const file of [tool, real]) {
    if (SYSTEM_PREFIXES.some((prefix) => file.startsWith(prefix))) continue;
    // bin/python3 → the prefix holding bin/ and lib/.
    const bin = path.dirname(file);
    dirs.add(path.basename(bin) === 'bin' ? path.dirname(bin) : bin);
  }
  return [...dirs];
}
