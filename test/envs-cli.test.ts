import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, tempDir } from './helpers/cli.js';
import { buildWheel } from './helpers/wheels.js';

// Through the built CLI and the official client: progress notifications, run_code in an environment, restart.
let root: string;
let wheels: string;
const env = () => ({ PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', HOME: root });

beforeAll(async () => {
  root = await tempDir('hangar-envs-cli-');
  wheels = path.join(root, 'wheels');
  await mkdir(wheels);
  buildWheel(wheels, { name: 'alpha', version: '1.0' });
  buildWheel(wheels, { name: 'beta', version: '1.0', requires: ['alpha'], code: 'import alpha\nUSES = alpha.VERSION\n' });
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('environments over MCP', () => {
  it('creates, installs with progress notifications, imports from run_code, and keeps it all across a restart', async () => {
    const dataDir = path.join(root, 'data');
    const first = await startStdio({ dataDir, env: env() });
    let envId: string;
    try {
      const { tools } = await first.client.listTools();
      for (const name of ['create_environment', 'list_environments', 'destroy_environment', 'install_packages', 'install_requirements', 'list_packages', 'freeze_environment', 'restore_environment', 'list_interpreters']) {
        expect(tools.find((t) => t.name === name)?.outputSchema?.type).toBe('object');
      }
      const created = await first.client.callTool({ name: 'create_environment', arguments: { name: 'proj' } });
      expect(created.isError).toBeFalsy();
      envId = (created.structuredContent as { env_id: string }).env_id;
      const progress: Array<{ progress: number; message?: string }> = [];
      const installed = await first.client.callTool(
        { name: 'install_packages', arguments: { env_id: envId, packages: ['beta'], find_links: wheels } },
        { onprogress: (p) => progress.push(p) },
      );
      expect(installed.isError, JSON.stringify(installed.content)).toBeFalsy();
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect(progress.map((p) => p.message).join('\n')).toMatch(/installed .*alpha-1\.0.*beta-1\.0|installed .*beta-1\.0.*alpha-1\.0/);
      const run = await first.client.callTool({ name: 'run_code', arguments: { env_id: envId, code: 'import beta; print(beta.USES)' } });
      expect((run.structuredContent as { stdout: string }).stdout).toBe('1.0\n');
      const bad = await first.client.callTool({ name: 'install_packages', arguments: { env_id: envId, packages: ['--index-url=http://x'] } });
      expect(bad.isError).toBe(true);
      expect((bad.content as Array<{ text: string }>)[0]?.text).toMatch(/^INVALID_ARGUMENT: package "--index-url=http:\/\/x" looks like a pip option/);
      const unknown = await first.client.callTool({ name: 'run_code', arguments: { env_id: 'env_00000000aa', code: 'print(1)' } });
      expect((unknown.content as Array<{ text: string }>)[0]?.text).toMatch(/^ENV_NOT_FOUND: environment "env_00000000aa" does not exist; existing: /);
    } finally {
      await first.close();
    }
    const second = await startStdio({ dataDir, env: env() });
    try {
      const listed = await second.client.callTool({ name: 'list_environments', arguments: {} });
      expect((listed.structuredContent as { environments: Array<{ env_id: string; status: string }> }).environments).toContainEqual(expect.objectContaining({ env_id: envId, status: 'ok' }));
      const pkgs = await second.client.callTool({ name: 'list_packages', arguments: { env_id: envId } });
      expect((pkgs.structuredContent as { packages: unknown[] }).packages).toEqual([{ name: 'alpha', version: '1.0' }, { name: 'beta', version: '1.0' }]);
      const run = await second.client.callTool({ name: 'run_code', arguments: { env_id: envId, code: 'import beta; print(beta.USES)' } });
      expect((run.structuredContent as { stdout: string }).stdout).toBe('1.0\n');
      const gone = await second.client.callTool({ name: 'destroy_environment', arguments: { env_id: envId } });
      expect(gone.isError).toBeFalsy();
    } finally {
      await second.close();
    }
  });
});
