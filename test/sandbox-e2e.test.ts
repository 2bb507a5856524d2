import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeIsolation } from '../src/runtime/sandbox/bwrap.js';
import { CLI, startStdio, tempDir, type StdioSession } from './helpers/cli.js';

/** The sandbox through the built CLI and a real MCP client: what an agent sees. */

const isolation = await probeIsolation();
if (!isolation.available && process.env.CI === 'true') throw new Error(`CI=true but bubblewrap does not work: ${isolation.reason}`);
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { type: string; text?: string }[] };
const text = (r: Result): string => r.content.map((c) => c.text ?? '').join('');

describe.skipIf(!isolation.available)('isolated sandbox over MCP', () => {
  let session: StdioSession;
  beforeAll(async () => {
    session = await startStdio({ env: { HANGAR_AUTH_TOKEN: TOKEN } });
  });
  afterAll(async () => session.close());

  it('reports the applied sandbox: isolated, network off, default limits', async () => {
    const r = (await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)' } })) as Result;
    expect(r.structuredContent?.sandbox).toEqual({
      level: 'isolated',
      network: 'off',
      limits: { timeout_s: 60, memory_mb: 1024, cpu_s: null, max_processes: 256, max_file_mb: 1024, max_output_chars: 20000 },
      enforcement: 'cgroup',
    });
    expect(r.structuredContent?.warnings).toEqual([]);
  });

  it('execute_code takes the same sandbox arguments', async () => {
    const r = (await session.client.callTool({
      name: 'execute_code',
      arguments: { language: 'python', code: 'print(2)', memory_mb: 128, cpu_s: 5, max_processes: 16, max_file_mb: 1, max_output_chars: 1000, timeout_s: 9, sandbox: 'isolated', network: 'on' },
    })) as Result;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent?.sandbox).toMatchObject({
      level: 'isolated',
      network: 'on',
      limits: { timeout_s: 9, memory_mb: 128, cpu_s: 5, max_processes: 16, max_file_mb: 1, max_output_chars: 1000 },
    });
  });

  it('a weaker ask is POLICY_DENIED with what is allowed', async () => {
    const r = (await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)', memory_mb: 100_000 } })) as Result;
    expect(r.isError).toBe(true);
    expect(text(r)).toBe("POLICY_DENIED: memory_mb 100000 MB is above the operator's maximum; ask for at most 8192 MB");
  });

  it('user code can neither find the auth token nor kill the server, which keeps serving', async () => {
    const code = `import os
hits = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    for name in ("environ", "cmdline"):
        try:
            hits += [pid] if b"${TOKEN}" in open(f"/proc/{pid}/{name}", "rb").read() else []
        except OSError:
            pass
print(hits)
os.kill(${session.pid ?? 0}, 9)
`;
    const r = (await session.client.callTool({ name: 'run_code', arguments: { code } })) as Result;
    expect(r.structuredContent?.stdout).toBe('[]\n');
    expect((r.structuredContent?.error as { name: string }).name).toBe('ProcessLookupError');
    const again = (await session.client.callTool({ name: 'run_code', arguments: { code: 'print("still here")' } })) as Result;
    expect(again.structuredContent?.stdout).toBe('still here\n');
  });
});

describe('operator policy over MCP', () => {
  it('--deny-network makes network "on" POLICY_DENIED', async () => {
    const session = await startStdio({ args: ['--deny-network'] });
    try {
      const r = (await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)', network: 'on' } })) as Result;
      expect(r.isError).toBe(true);
      expect(text(r)).toBe('POLICY_DENIED: network "on" is denied by the operator (--deny-network); run without network');
    } finally {
      await session.close();
    }
  });

  it('--sandbox process runs at level process and says network is not blocked', async () => {
    const session = await startStdio({ args: ['--sandbox', 'process'] });
    try {
      const r = (await session.client.callTool({ name: 'run_code', arguments: { code: 'print(1)' } })) as Result;
      expect(r.structuredContent?.sandbox).toMatchObject({ level: 'process', network: 'on' });
      expect(r.structuredContent?.warnings).toEqual(['network "off" cannot be enforced at level process: the run could reach the network']);
    } finally {
      await session.close();
    }
  });

  it('--sandbox process with --deny-network is refused at startup with the reason', async () => {
    const dataDir = await tempDir();
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--sandbox', 'process', '--deny-network'], (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
      });
    });
    await rm(dataDir, { recursive: true, force: true });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('level process cannot block network access');
  });

  it('hangar doctor shows the sandbox level, bubblewrap and the ceilings', async () => {
    const dataDir = await tempDir();
    const stdout = await new Promise<string>((resolve) => {
      execFile(process.execPath, [CLI, 'doctor', '--data-dir', dataDir, '--json'], (_error, out) => resolve(out));
    });
    await rm(dataDir, { recursive: true, force: true });
    const report = JSON.parse(stdout) as { sandbox: { level: string; bubblewrap: { namespaces: boolean }; limits: Record<string, string> } };
    expect(report.sandbox.level).toBe(isolation.available ? 'isolated' : 'process');
    expect(report.sandbox.bubblewrap.namespaces).toBe(isolation.available);
    expect(report.sandbox.limits.memory_mb).toBe('1024 (max 8192)');
  });
});
