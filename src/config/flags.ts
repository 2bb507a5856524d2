import type { Config } from './schema.js';

/**
 * Every `hangar serve` option once: its flag, its HANGAR_* variable, its config key, its help.
 * The CLI parser, the help text and the README's flag table are all made from this list.
 */
export interface FlagSpec {
  flag: string;
  key: keyof Config;
  kind: 'string' | 'boolean' | 'number' | 'list';
  env: string;
  help: string;
  /** For boolean pairs such as --stateless / --no-stateless, the negated flag. */
  negation?: string;
}

const env = (flag: string): string => `HANGAR_${flag.replace(/-/g, '_').toUpperCase()}`;

function spec(flag: string, key: keyof Config, kind: FlagSpec['kind'], help: string): FlagSpec {
  return { flag, key, kind, env: env(flag), help };
}

export const SERVE_FLAGS: readonly FlagSpec[] = [
  spec('transport', 'transport', 'string', 'stdio | http (default stdio)'),
  spec('addr', 'addr', 'string', 'HTTP listen address HOST:PORT (default 127.0.0.1:8080)'),
  spec('endpoint', 'endpoint', 'string', 'HTTP path of the MCP endpoint (default /mcp)'),
  spec('stateless', 'stateless', 'boolean', 'HTTP: serve 2025-era clients without sessions (2026-era traffic is always per request)'),
  spec('tls-cert', 'tlsCert', 'string', 'HTTP: PEM certificate file; with --tls-key serves HTTPS'),
  spec('tls-key', 'tlsKey', 'string', 'HTTP: PEM private key file'),
  spec('auth-token', 'authToken', 'string', 'HTTP: require "Authorization: Bearer TOKEN"; required to bind a non-loopback address'),
  { ...spec('data-dir', 'dataDir', 'string', 'data directory (default ~/.hangar)'), env: 'HANGAR_HOME' },
  spec('toolsets', 'toolsets', 'list', 'comma list of toolsets to expose: core (default), all, or names'),
  spec('log-level', 'logLevel', 'string', 'debug | info | warn | error | silent (stderr only; default info)'),
  spec('max-output-chars', 'maxOutputChars', 'number', 'characters per output stream shown to the agent before head + tail (default 20000)'),
  spec('default-timeout', 'defaultTimeout', 'number', 'seconds a run may take when the call names no timeout (default 60)'),
  spec('max-timeout', 'maxTimeout', 'number', 'largest timeout a call may ask for, in seconds (default 600)'),
  spec('sandbox', 'sandbox', 'string', 'auto (default: isolated where bubblewrap works, else process with a warning) | isolated (required: runs fail with POLICY_DENIED where unavailable) | process'),
  { ...spec('allow-network', 'allowNetwork', 'boolean', 'calls may ask for network: "on" (default); --deny-network forbids it'), negation: 'deny-network' },
  spec('memory-mb', 'memoryMb', 'number', 'memory limit of a run when the call names none, in MB (default 1024)'),
  spec('max-memory-mb', 'maxMemoryMb', 'number', 'largest memory_mb a call may ask for (default 8192)'),
  spec('cpu-s', 'cpuS', 'number', 'CPU seconds a run may use when the call names none (default: no limit besides the timeout)'),
  spec('max-cpu-s', 'maxCpuS', 'number', 'largest cpu_s a call may ask for (default: no ceiling)'),
  spec('processes', 'processes', 'number', 'processes and threads a run may have when the call names none (default 256)'),
  spec('max-processes', 'maxProcesses', 'number', 'largest max_processes a call may ask for (default 4096)'),
  spec('file-mb', 'fileMb', 'number', 'largest file a run may write when the call names none, in MB (default 1024)'),
  spec('max-file-mb', 'maxFileMb', 'number', 'largest max_file_mb a call may ask for (default 1024)'),
  spec('tmp-mb', 'tmpMb', 'number', 'size of the private /tmp of an isolated run, in MB (default 512; counted in its memory)'),
  spec('warm-sandboxes', 'warmSandboxes', 'number', 'runs launched ahead (sandbox set up, waiting for their code) for run shapes used more than once, each ending after 60 s unused (0 = off; default 4)'),
  spec('max-open-files', 'maxOpenFiles', 'number', 'open files per process of a run (default 4096)'),
  spec('content-ttl-hours', 'contentTtlHours', 'number', 'hours offloaded output is kept (default 24)'),
  spec('content-max-mb', 'contentMaxMb', 'number', 'total MB of offloaded output kept, oldest dropped first (default 2048)'),
  spec('install-timeout', 'installTimeout', 'number', 'seconds a package install may take before it is killed (default 900)'),
  spec('pip-index-url', 'pipIndexUrl', 'string', 'default package index for installs (pip --index-url); the user pip configuration applies otherwise'),
  spec('pip-extra-index-url', 'pipExtraIndexUrl', 'list', 'comma list of extra package indexes for installs (pip --extra-index-url)'),
  spec('pip-find-links', 'pipFindLinks', 'list', 'comma list of URLs or directories of archives for installs (pip --find-links)'),
  spec('max-sessions', 'maxSessions', 'number', 'REPL / kernel sessions with a running interpreter at once (default 32)'),
  spec('session-idle-timeout', 'sessionIdleTimeout', 'number', 'seconds before an idle session is stopped and becomes dormant (history kept; 0 = never; default 3600)'),
  { ...spec('cgroups', 'cgroups', 'boolean', 'use cgroups for limits and process tracking where writable (default on)'), negation: 'no-cgroups' },
  spec('allow-dir', 'allowDirs', 'list', 'comma list of host directories jobs may sync from and collect into (default none)'),
  { ...spec('kill-processes-on-exit', 'killProcessesOnExit', 'boolean', 'end background processes when the server stops (default: they keep running)'), negation: 'no-kill-processes-on-exit' },
  spec('max-process-lifetime', 'maxProcessLifetime', 'number', 'seconds a background process may run (its default and the largest timeout_s it may ask for; default: no limit)'),
  spec('process-log-max-mb', 'processLogMaxMb', 'number', 'MB of output kept per background process, oldest rotated away (default 64)'),
];
