import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, tempDir, type StdioSession } from './helpers/cli.js';

let s: StdioSession;
let allowed: string;

async function ok<T>(name: string, args: Record<string, unknown>): Promise<T> {
  const result = await s.client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as T;
}

type Status = {
  phase: string;
  error: string | null;
  bootstrap: { command: string; status: string; exit_code: number | null; output_tail: string }[];
  log_tail: string;
  process: { running: boolean; sandbox: { level: string; network: string } | null } | null;
};

async function finished(jobId: string): Promise<Status> {
  for (let i = 0; i < 300; i++) {
    const status = await ok<Status>('job_status', { job_id: jobId });
    if (['succeeded', 'failed', 'cancelled'].includes(status.phase)) return status;
    await sleep(100);
  }
  throw new Error('job did not finish');
}

beforeAll(async () => {
  allowed = await tempDir('hangar-allowed-');
  await mkdir(path.join(allowed, 'project/cache'), { recursive: true });
  await writeFile(path.join(allowed, 'project/train.py'), 'import json\nopen("out/model.json","w").write(json.dumps({"acc": 0.9}))\nprint("trained")\n');
  await writeFile(path.join(allowed, 'project/cache/big.bin'), 'excluded');
  s = await startStdio({ args: ['--allow-dir', allowed] });
});
afterAll(async () => {
  await s.close();
  await rm(allowed, { recursive: true, force: true });
});

describe('jobs', () => {
  it('syncs, bootstraps, runs, and collects artifacts', async () => {
    const { job_id } = await ok<{ job_id: string }>('job_submit', {
      spec: {
        sync: [{ local_dir: path.join(allowed, 'project'), remote_dir: 'proj', exclude: ['cache'] }],
        bootstrap: { commands: ['mkdir -p out', ['/bin/sh', '-c', 'echo "$GREETING" > out/boot.txt']], cwd: 'proj', env: { GREETING: 'hi' } },
        run: { command: '/usr/bin/python3 train.py', cwd: 'proj', log_path: 'proj/out/run.log' },
        artifacts: ['proj/out/model.json', { remote_dir: 'proj/out' }, { remote_path: 'proj/missing.txt' }],
      },
    });
    const status = await finished(job_id);
    expect(status.phase).toBe('succeeded');
    expect(status.bootstrap.map((b) => b.status)).toEqual(['ok', 'ok']);
    expect(status.log_tail).toContain('trained');
    const collectDir = path.join(allowed, 'collected');
    const collected = await ok<{ artifacts: { path: string; uri: string }[]; missing: string[] }>('job_collect', { job_id, local_dir: collectDir });
    expect(collected.artifacts.map((a) => a.path)).toEqual(expect.arrayContaining(['proj/out/model.json', 'proj/out/boot.txt', 'proj/out/run.log']));
    expect(collected.missing).toEqual(['proj/missing.txt']);
    expect(JSON.parse(await readFile(path.join(collectDir, 'proj/out/model.json'), 'utf8'))).toEqual({ acc: 0.9 });
    expect(await readFile(path.join(collectDir, 'proj/out/boot.txt'), 'utf8')).toBe('hi\n');
    expect(await readFile(path.join(collectDir, 'proj/out/run.log'), 'utf8')).toBe('trained\n');
    const list = await ok<{ files: { path: string }[] }>('workspace_list_files', { path: 'proj', recursive: true });
    expect(list.files.map((f) => f.path)).not.toContain('proj/cache');
    const resource = await s.client.readResource({ uri: collected.artifacts.find((a) => a.path === 'proj/out/model.json')!.uri });
    expect((resource.contents[0] as { text: string }).text).toContain('0.9');
  });

  it('stops at a failing bootstrap: the run never starts', async () => {
    const { job_id } = await ok<{ job_id: string }>('job_submit', {
      spec: { bootstrap: { commands: ['echo first', 'exit 4', 'echo never'] }, run: { command: 'touch ran.txt' } },
    });
    const status = await finished(job_id);
    expect(status.phase).toBe('failed');
    expect(status.error).toMatch(/bootstrap command "exit 4" failed.*the run did not start/);
    expect(status.bootstrap.map((b) => b.exit_code)).toEqual([0, 4]);
    expect(status.process).toBeNull();
    const ran = await s.client.callTool({ name: 'workspace_read_file', arguments: { filename: 'ran.txt' } });
    expect(JSON.stringify(ran.content)).toMatch(/FILE_NOT_FOUND/);
  });

  it.each(['../../etc', '/etc', 'a\0b'])('refuses sync.remote_dir %j outside the workspace', async (remote) => {
    const result = await s.client.callTool({ name: 'job_submit', arguments: { spec: { sync: [{ local_dir: path.join(allowed, 'project'), remote_dir: remote }], run: { command: 'true' } } } });
    expect(JSON.stringify(result.content)).toMatch(/PATH_OUTSIDE_WORKSPACE/);
  });

  it('refuses host directories outside --allow-dir roots, saying how to allow them', async () => {
    const sync = await s.client.callTool({ name: 'job_submit', arguments: { spec: { sync: [{ local_dir: '/etc' }], run: { command: 'true' } } } });
    expect(JSON.stringify(sync.content)).toMatch(/POLICY_DENIED: .*--allow-dir/);
    const { job_id } = await ok<{ job_id: string }>('job_submit', { spec: { run: { command: 'true' } } });
    await finished(job_id);
    const collect = await s.client.callTool({ name: 'job_collect', arguments: { job_id, local_dir: '/tmp/hangar-not-allowed' } });
    expect(JSON.stringify(collect.content)).toMatch(/POLICY_DENIED/);
  });

  it('runs bootstrap and run in the same sandbox; network off by default, "on" for a phase that asks', async () => {
    const server = createServer((socket) => socket.end('reached\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const probe = `/usr/bin/python3 -c "import os, socket\ntry:\n    print(os.getcwd(), socket.create_connection(('127.0.0.1', ${port}), timeout=3).recv(20).decode().strip())\nexcept OSError as e:\n    print(os.getcwd(), 'unreachable')"`;
    try {
      const { job_id } = await ok<{ job_id: string }>('job_submit', {
        spec: { bootstrap: { commands: [probe], network: 'on' }, run: { command: probe } },
      });
      const status = await finished(job_id);
      expect(status.phase).toBe('succeeded');
      expect(status.bootstrap[0]?.output_tail.trim()).toBe('/workspace reached');
      expect(status.log_tail.trim()).toBe('/workspace unreachable');
      expect(status.process?.sandbox).toMatchObject({ level: 'isolated', network: 'off' });
    } finally {
      server.close();
    }
  });

  it('refuses a job asking for network the operator denies, before anything runs', async () => {
    const strict = await startStdio({ args: ['--deny-network'] });
    try {
      const result = await strict.client.callTool({ name: 'job_submit', arguments: { spec: { bootstrap: { commands: ['pip download x'], network: 'on' }, run: { command: 'true' } } } });
      expect((result.content as { text: string }[])[0]?.text).toMatch(/^POLICY_DENIED: network "on" is denied/);
    } finally {
      await strict.close();
    }
  });
});
