import { describe, expect, it } from 'vitest';
import { ConfigSchema, type ConfigInput } from '../src/config/schema.js';
import { isHangarError } from '../src/runtime/errors.js';
import type { IsolationSupport } from '../src/runtime/sandbox/bwrap.js';
import { resolvePolicy, type PolicyRequest } from '../src/runtime/sandbox/policy.js';

/** The operator's policy against what calls ask for: stricter is granted, weaker is POLICY_DENIED. */

const WORKS: IsolationSupport = { available: true, bwrap: '/usr/bin/bwrap', version: '0.8.0', reason: '' };
const MISSING: IsolationSupport = { available: false, bwrap: null, version: null, reason: 'bubblewrap is not installed' };

const config = (input: Partial<ConfigInput> = {}) => ConfigSchema.parse({ dataDir: '/tmp/unused', ...input });

function denied(input: Partial<ConfigInput>, isolation: IsolationSupport, request: PolicyRequest): string {
  try {
    resolvePolicy(config(input), isolation, request);
  } catch (error) {
    if (isHangarError(error) && error.code === 'POLICY_DENIED') return error.message;
    throw error;
  }
  throw new Error('expected POLICY_DENIED');
}

describe('resolvePolicy', () => {
  it('defaults: isolated, network off, 1024 MB, 256 processes', () => {
    const policy = resolvePolicy(config(), WORKS, {});
    expect(policy.level).toBe('isolated');
    expect(policy.network).toBe('off');
    expect(policy.limits.memoryBytes).toBe(1024 * 1048576);
    expect(policy.limits.maxProcesses).toBe(256);
    expect(policy.limits.timeoutMs).toBe(60_000);
    expect(policy.warnings).toEqual([]);
  });

  it('grants stricter asks', () => {
    const policy = resolvePolicy(config(), WORKS, { memoryMb: 64, cpuS: 2, maxProcesses: 8, maxFileMb: 1, maxOutputChars: 500, timeoutS: 3, network: 'on' });
    expect(policy.limits).toMatchObject({ memoryBytes: 64 * 1048576, cpuSeconds: 2, maxProcesses: 8, fileSizeBytes: 1048576, maxOutputChars: 500, timeoutMs: 3000 });
    expect(policy.network).toBe('on');
    // /tmp never holds more than the run's memory.
    expect(policy.tmpBytes).toBe(64 * 1048576);
  });

  it.each([
    [{ memoryMb: 9000 }, 'memory_mb 9000 MB is above the operator\'s maximum; ask for at most 8192 MB'],
    [{ timeoutS: 601 }, 'timeout_s 601 s is above the operator\'s maximum; ask for at most 600 s'],
    [{ maxProcesses: 5000 }, 'max_processes 5000 is above the operator\'s maximum; ask for at most 4096'],
    [{ maxFileMb: 2048 }, 'max_file_mb 2048 MB is above the operator\'s maximum; ask for at most 1024 MB'],
    [{ maxOutputChars: 50_000 }, 'max_output_chars 50000 is above the operator\'s maximum; ask for at most 20000'],
  ] as [PolicyRequest, string][])('denies a limit above the ceiling: %j', (request, message) => {
    expect(denied({}, WORKS, request)).toBe(message);
  });

  it('denies cpu_s above an operator ceiling', () => {
    expect(denied({ maxCpuS: 10 }, WORKS, { cpuS: 11 })).toBe("cpu_s 11 s is above the operator's maximum; ask for at most 10 s");
  });

  it('denies network on when the operator denies network', () => {
    expect(denied({ allowNetwork: false }, WORKS, { network: 'on' })).toMatch(/^network "on" is denied by the operator/);
    expect(resolvePolicy(config({ allowNetwork: false }), WORKS, {}).network).toBe('off');
  });

  it('denies level process when the operator demands isolated', () => {
    expect(denied({ sandbox: 'isolated' }, WORKS, { sandbox: 'process' })).toMatch(/^sandbox "process" is weaker than the operator allows/);
  });

  it('fails rather than falls back when isolated is demanded but unavailable', () => {
    expect(denied({ sandbox: 'isolated' }, MISSING, {})).toBe('level isolated is required but unavailable on this machine (bubblewrap is not installed); see `hangar doctor`');
    expect(denied({}, MISSING, { sandbox: 'isolated' })).toMatch(/^level isolated is required but unavailable/);
  });

  it('falls back to process with warnings under auto', () => {
    const policy = resolvePolicy(config(), MISSING, {});
    expect(policy.level).toBe('process');
    expect(policy.network).toBe('on');
    expect(policy.warnings).toEqual([
      'isolated sandbox unavailable (bubblewrap is not installed): ran at level process',
      'network "off" cannot be enforced at level process: the run could reach the network',
    ]);
  });

  it('under auto with --deny-network and no bubblewrap, runs are denied (network could not be blocked)', () => {
    expect(denied({ allowNetwork: false }, MISSING, {})).toMatch(/level process cannot block it/);
  });

  it('--sandbox process runs at process even where bubblewrap works; a call may still ask for isolated', () => {
    expect(resolvePolicy(config({ sandbox: 'process' }), WORKS, {}).level).toBe('process');
    expect(resolvePolicy(config({ sandbox: 'process' }), WORKS, { sandbox: 'isolated' }).level).toBe('isolated');
  });
});

describe('config security rules', () => {
  it.each([
    [{ memoryMb: 4096, maxMemoryMb: 2048 }, '--memory-mb is above --max-memory-mb (4096 > 2048); lower the default or raise the maximum'],
    [{ processes: 500, maxProcesses: 100 }, '--processes is above --max-processes (500 > 100); lower the default or raise the maximum'],
    [{ cpuS: 20, maxCpuS: 10 }, '--cpu-s is above --max-cpu-s (20 > 10); lower the default or raise the maximum'],
    [{ sandbox: 'process', allowNetwork: false }, 'level process cannot block network access; with --deny-network use --sandbox isolated or auto (needs bubblewrap)'],
  ] as [Partial<ConfigInput>, string][])('rejects %j', (input, message) => {
    const parsed = ConfigSchema.safeParse({ dataDir: '/tmp/unused', ...input });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toContain(message);
  });
});
