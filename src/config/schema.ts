import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { isWithin } from '../runtime/workspaces/safe-path.js';

/**
 * The operator's configuration, schema first: every default, bound and security rule lives here,
 * with messages that say what to do. Flags, HANGAR_* variables and the --config file are all
 * merged into this one shape and parsed once.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

export function addrHost(addr: string): string {
  const host = addr.slice(0, addr.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

export function addrPort(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev'];

export const ConfigSchema = z
  .object({
    transport: z.enum(['stdio', 'http']).default('stdio'),
    addr: hostPort.default('127.0.0.1:8080'),
    endpoint: z
      .string()
      .regex(/^\/[A-Za-z0-9/_.-]*$/, 'must be a path starting with "/", e.g. /mcp')
      .default('/mcp'),
    stateless: z.boolean().default(false),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    authToken: z.string().min(16, 'must be at least 16 characters: a short token is guessable').optional(),
    dataDir: z
      .string()
      .min(1)
      // Kernel pseudo-filesystems store nothing, and node's recursive mkdir under /proc never returns.
      .refine((d) => !PSEUDO_FILESYSTEMS.some((root) => isWithin(root, path.resolve(d))), 'must not be under /proc, /sys or /dev: those are kernel pseudo-filesystems that cannot hold files')
      .default(path.join(os.homedir(), '.hangar')),
    toolsets: z.array(z.string().min(1)).min(1).default(['core']),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    maxOutputChars: z.number().int().min(200, 'must be at least 200').max(10_000_000).default(20_000),
    defaultTimeout: z.number().positive().max(86_400).default(60),
    maxTimeout: z.number().positive().max(86_400).default(600),
    // Sandbox policy (DESIGN.md section 6). `auto`: isolated wherever bubblewrap works, else process
    // with a warning; `isolated`: the operator demands it, runs fail rather than fall back.
    sandbox: z.enum(['auto', 'isolated', 'process']).default('auto'),
    allowNetwork: z.boolean().default(true),
    // Each limit: the default a call gets, and the ceiling a call may ask for.
    memoryMb: z.number().int().min(16, 'must be at least 16 MB').default(1024),
    maxMemoryMb: z.number().int().min(16, 'must be at least 16 MB').default(8192),
    cpuS: z.number().positive().optional(),
    maxCpuS: z.number().positive().optional(),
    processes: z.number().int().min(2, 'must be at least 2: the launcher and the program').default(256),
    maxProcesses: z.number().int().min(2, 'must be at least 2: the launcher and the program').default(4096),
    fileMb: z.number().int().positive().default(1024),
    maxFileMb: z.number().int().positive().default(1024),
    tmpMb: z.number().int().positive().default(512),
    /** Runs launched ahead (the warm path) for run shapes used more than once; 0 = off. */
    warmSandboxes: z.number().int().min(0).max(64).default(4),
    maxOpenFiles: z.number().int().min(16).default(4096),
    contentTtlHours: z.number().positive().default(24),
    contentMaxMb: z.number().int().positive().default(2048),
    cgroups: z.boolean().default(true),
    /** Host directories that jobs may read (sync) or write (collect); none by default. */
    allowDirs: z.array(z.string().min(1).refine((d) => path.isAbsolute(d), 'must be an absolute path')).default([]),
    killProcessesOnExit: z.boolean().default(false),
    /** Lifetime limit of background processes in seconds: none by default (they run until killed). */
    maxProcessLifetime: z.number().positive().max(604_800).optional(),
    processLogMaxMb: z.number().positive().max(1_000_000).default(64),
    installTimeout: z.number().positive().max(86_400).default(900),
    pipIndexUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').optional(),
    pipExtraIndexUrl: z.array(z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')).default([]),
    pipFindLinks: z.array(z.string().regex(/^(https?:\/\/\S+|\/.*)$/, 'must be an http(s) URL or an absolute directory')).default([]),
    maxSessions: z.number().int().min(1).max(10_000).default(32),
    sessionIdleTimeout: z.number().min(0).default(3600),
  })
  .superRefine((config, ctx) => {
    if (config.transport === 'http' && !config.authToken && !isLoopbackHost(addrHost(config.addr))) {
      ctx.addIssue({
        code: 'custom',
        path: ['authToken'],
        message: `binding ${config.addr} exposes code execution beyond this machine; set --auth-token (or HANGAR_AUTH_TOKEN), or bind 127.0.0.1`,
      });
    }
    if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
      ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'TLS needs both --tls-cert and --tls-key' });
    }
    if (config.defaultTimeout > config.maxTimeout) {
      ctx.addIssue({ code: 'custom', path: ['defaultTimeout'], message: `default timeout ${config.defaultTimeout} s is above the maximum ${config.maxTimeout} s` });
    }
    // A default above its ceiling would make every call that names nothing exceed policy.
    const ceilings: [number | undefined, number | undefined, string, string][] = [
      [config.memoryMb, config.maxMemoryMb, 'memoryMb', '--memory-mb is above --max-memory-mb'],
      [config.cpuS, config.maxCpuS, 'cpuS', '--cpu-s is above --max-cpu-s'],
      [config.processes, config.maxProcesses, 'processes', '--processes is above --max-processes'],
      [config.fileMb, config.maxFileMb, 'fileMb', '--file-mb is above --max-file-mb'],
    ];
    for (const [value, ceiling, key, message] of ceilings) {
      if (value !== undefined && ceiling !== undefined && value > ceiling) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${message} (${value} > ${ceiling}); lower the default or raise the maximum` });
      }
    }
    if (config.sandbox === 'process' && !config.allowNetwork) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowNetwork'],
        message: 'level process cannot block network access; with --deny-network use --sandbox isolated or auto (needs bubblewrap)',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
