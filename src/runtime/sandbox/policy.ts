import type { Config } from '../../config/schema.js';
import { HangarError } from '../errors.js';
import type { IsolationSupport } from './bwrap.js';
import type { Limits } from './limits.js';

/**
 * The policy of one run: the operator's defaults, tightened by what the call asks for. A call may
 * only ask for something stricter; anything weaker than the operator allows is POLICY_DENIED with
 * the allowed values in the message (DESIGN.md promise 1).
 */
export type SandboxLevel = 'process' | 'isolated';
export type NetworkMode = 'off' | 'on';

/** What a tool call asks for (all optional; the tool argument names, camelCased). */
export interface PolicyRequest {
  sandbox?: SandboxLevel;
  network?: NetworkMode;
  timeoutS?: number;
  memoryMb?: number;
  cpuS?: number;
  maxProcesses?: number;
  maxFileMb?: number;
  maxOutputChars?: number;
}

export interface RunPolicy {
  level: SandboxLevel;
  network: NetworkMode;
  limits: Limits;
  /** Size of the private /tmp of an isolated run, in bytes. */
  tmpBytes: number;
  warnings: string[];
}

const MB = 1048576;

function deny(message: string): never {
  throw new HangarError('POLICY_DENIED', message);
}

function bounded(name: string, asked: number | undefined, fallback: number | undefined, ceiling: number | undefined, unit: string): number | undefined {
  if (asked === undefined) return fallback;
  if (ceiling !== undefined && asked > ceiling) deny(`${name} ${asked}${unit} is above the operator's maximum; ask for at most ${ceiling}${unit}`);
  return asked;
}

function chooseLevel(config: Config, isolation: IsolationSupport, asked: SandboxLevel | undefined, warnings: string[]): SandboxLevel {
  const why = isolation.available ? '' : isolation.reason;
  if (asked === 'process') {
    if (config.sandbox === 'isolated') deny('sandbox "process" is weaker than the operator allows: this server runs code at level isolated only; omit sandbox or ask for "isolated"');
    return 'process';
  }
  if (asked === 'isolated' || config.sandbox === 'isolated') {
    if (!isolation.available) deny(`level isolated is required but unavailable on this machine (${why}); see \`hangar doctor\``);
    return 'isolated';
  }
  if (config.sandbox === 'process') return 'process';
  if (isolation.available) return 'isolated';
  warnings.push(`isolated sandbox unavailable (${why}): ran at level process`);
  return 'process';
}

export function resolvePolicy(config: Config, isolation: IsolationSupport, request: PolicyRequest): RunPolicy {
  const warnings: string[] = [];
  const network = request.network ?? 'off';
  if (network === 'on' && !config.allowNetwork) deny('network "on" is denied by the operator (--deny-network); run without network');
  const timeoutS = bounded('timeout_s', request.timeoutS, config.defaultTimeout, config.maxTimeout, ' s') ?? config.defaultTimeout;
  const memoryMb = bounded('memory_mb', request.memoryMb, config.memoryMb, config.maxMemoryMb, ' MB');
  const cpuS = bounded('cpu_s', request.cpuS, config.cpuS, config.maxCpuS, ' s');
  const processes = bounded('max_processes', request.maxProcesses, config.processes, config.maxProcesses, '');
  const fileMb = bounded('max_file_mb', request.maxFileMb, config.fileMb, config.maxFileMb, ' MB');
  const outputChars = bounded('max_output_chars', request.maxOutputChars, config.maxOutputChars, config.maxOutputChars, '') ?? config.maxOutputChars;
  const level = chooseLevel(config, isolation, request.sandbox, warnings);
  if (level === 'process' && network === 'off') {
    if (!config.allowNetwork) deny('the operator denies network access, and level process cannot block it on this machine (bubblewrap unavailable)');
    warnings.push('network "off" cannot be enforced at level process: the run could reach the network');
  }
  const memoryBytes = memoryMb === undefined ? undefined : memoryMb * MB;
  return {
    level,
    network: level === 'process' ? 'on' : network,
    limits: {
      timeoutMs: Math.round(timeoutS * 1000),
      memoryBytes,
      cpuSeconds: cpuS,
      maxProcesses: processes,
      fileSizeBytes: fileMb === undefined ? undefined : fileMb * MB,
      openFiles: config.maxOpenFiles,
      maxOutputChars: outputChars,
    },
    // /tmp is memory (tmpfs): never more than the run's memory limit.
    tmpBytes: Math.min(config.tmpMb * MB, memoryBytes ?? Number.MAX_SAFE_INTEGER),
    warnings,
  };
}
