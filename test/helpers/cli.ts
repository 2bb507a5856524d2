import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

/** The built CLI, exactly what `npm start` runs. Tests run against it, not against sources. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js');

export type Era = 'auto' | 'legacy';

export interface StdioSession {
  client: Client;
  transport: StdioClientTransport;
  dataDir: string;
  pid: number | null;
  close(): Promise<void>;
}

export async function tempDir(prefix = 'hangar-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Starts `hangar serve` over stdio with the official client; `era` picks the protocol era. */
export async function startStdio(
  options: { era?: Era; args?: string[]; env?: Record<string, string>; dataDir?: string } = {},
): Promise<StdioSession> {
  const dataDir = options.dataDir ?? (await tempDir());
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--data-dir', dataDir, '--log-level', 'warn', ...(options.args ?? [])],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stderr: 'pipe',
  });
  const client = new Client(
    { name: 'hangar-test', version: '1.0.0' },
    options.era === 'legacy' ? {} : { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(transport);
  return {
    client,
    transport,
    dataDir,
    pid: transport.pid,
    async close() {
      await client.close().catch(() => undefined);
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
