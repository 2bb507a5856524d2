import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startStdio, tempDir } from './helpers/cli.js';
import { peakRssDuring } from './helpers/procs.js';

type Block = { type: string; text?: string; data?: string; mimeType?: string };

/** The built CLI over stdio with the official MCP client: what an agent sees. */
describe('repl tools over MCP', () => {
  it('returns a matplotlib plot as an image block, and restores a session after a server restart', async () => {
    const dataDir = await tempDir();
    const env = { PATH: '/usr/bin:/bin' };
    const first = await startStdio({ dataDir, env });
    let sessionId = '';
    try {
      // Debian's matplotlib is a system package: the environment sees system site-packages.
      const env = await first.client.callTool({ name: 'create_environment', arguments: { name: 'plots', system_site_packages: true } });
      expect(env.isError).toBeFalsy();
      const envId = (env.structuredContent as { env_id: string }).env_id;
      const created = await first.client.callTool({ name: 'repl_create', arguments: { session_name: 'plots', env_id: envId } });
      expect(created.isError).toBeFalsy();
      sessionId = (created.structuredContent as { session_id: string }).session_id;
      const plot = await first.client.callTool({
        name: 'repl_execute',
        arguments: { session_id: sessionId, code: 'import matplotlib.pyplot as plt\nvalues = [1, 4, 9]\nplt.plot(values)\nlen(values)' },
      });
      expect(plot.isError).toBeFalsy();
      const blocks = plot.content as Block[];
      const image = blocks.find((b) => b.type === 'image');
      expect(image?.mimeType).toBe('image/png');
      expect(Buffer.from(image?.data ?? '', 'base64').subarray(1, 4).toString()).toBe('PNG');
      expect(blocks[0]?.text).toContain('Out[1]: 3');
      const bad = await first.client.callTool({ name: 'repl_execute', arguments: { session_id: 'sess_0000000000', code: '1' } });
      expect(bad.isError).toBe(true);
      expect((bad.content as Block[])[0]?.text).toMatch(/^SESSION_NOT_FOUND: /);
    } finally {
      await first.close();
    }
    const second = await startStdio({ dataDir, env });
    try {
      const listed = await second.client.callTool({ name: 'repl_list', arguments: {} });
      const sessions = (listed.structuredContent as { sessions: { session_id: string; status: string }[] }).sessions;
      expect(sessions).toEqual([expect.objectContaining({ session_id: sessionId, status: 'dormant' })]);
      const again = await second.client.callTool({ name: 'repl_execute', arguments: { session_id: sessionId, code: 'sum(values)' } });
      expect((again.structuredContent as { result: string }).result).toBe('14');
      expect((again.content as Block[])[0]?.text).toContain('restored: 1 cells replayed');
      const destroyed = await second.client.callTool({ name: 'repl_destroy', arguments: { session_id: sessionId } });
      expect(destroyed.isError).toBeFalsy();
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('repl_create takes the sandbox arguments of run_code, and results say what was applied', async () => {
    const dataDir = await tempDir();
    const server = await startStdio({ dataDir, env: { PATH: '/usr/bin:/bin' } });
    try {
      const created = await server.client.callTool({ name: 'repl_create', arguments: { memory_mb: 256, max_processes: 32, timeout_s: 5, network: 'off' } });
      expect(created.isError).toBeFalsy();
      const info = created.structuredContent as { session_id: string; sandbox: { level: string; network: string } | null };
      const level = info.sandbox?.level;
      expect(level === 'isolated' || process.env.CI !== 'true').toBe(true);
      const r = await server.client.callTool({ name: 'repl_execute', arguments: { session_id: info.session_id, code: 'import os\nos.getcwd()' } });
      const out = r.structuredContent as { result: string; sandbox: { level: string; limits: Record<string, unknown> } };
      expect(out.sandbox.level).toBe(level);
      expect(out.sandbox.limits).toMatchObject({ memory_mb: 256, max_processes: 32, timeout_s: 5 });
      if (level === 'isolated') expect(out.result).toBe("'/workspace'");
      const denied = await server.client.callTool({ name: 'repl_create', arguments: { memory_mb: 10_000_000 } });
      expect(denied.isError).toBe(true);
      expect((denied.content as Block[])[0]?.text).toMatch(/^POLICY_DENIED: memory_mb/);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a cell that floods output until its timeout leaves the server memory bounded and the session working', async () => {
    const server = await startStdio({ env: { PATH: '/usr/bin:/bin' } });
    try {
      const created = await server.client.callTool({ name: 'repl_create', arguments: {} });
      const sessionId = (created.structuredContent as { session_id: string }).session_id;
      await server.client.callTool({ name: 'repl_execute', arguments: { session_id: sessionId, code: 'x = 41' } });
      const { result: flood, before, peak } = await peakRssDuring(server.pid ?? -1, () =>
        server.client.callTool({ name: 'repl_execute', arguments: { session_id: sessionId, code: "while True: print('y' * 10000)", timeout_s: 3 } }),
      );
      const out = flood.structuredContent as { status: string; stdout: string; truncated: { stdout_bytes: number; stdout_ref_id: string } | null };
      expect(out.status).toBe('timeout');
      // The driver prints as fast as the capture spills to disk (the pipe is paused while it catches up).
      expect(out.truncated?.stdout_bytes).toBeGreaterThan(20 * 1048576);
      expect(out.stdout).toContain(`the whole stdout is kept as ${out.truncated?.stdout_ref_id}`);
      // Before the capture's backpressure reached the session's pipes: +600 MiB here.
      expect(peak - before).toBeLessThan(150 * 1048576);
      const after = await server.client.callTool({ name: 'repl_execute', arguments: { session_id: sessionId, code: 'x + 1' } });
      expect((after.structuredContent as { result: string }).result).toBe('42');
    } finally {
      await server.close();
    }
  });
});
