import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { startStdio, type StdioSession } from '../helpers/cli.js';
import { connectHttp, fetchTrusting, post, selfSignedCert, startHttp, type HttpServer } from '../helpers/http.js';

interface Exec {
  status: string;
  stdout: string;
  exit_code: number | null;
}

async function runPython(client: Client, code: string): Promise<Exec> {
  const result = await client.callTool({ name: 'run_code', arguments: { code } });
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as unknown as Exec;
}

describe.each(['auto', 'legacy'] as const)('stdio, client era %s', (era) => {
  let session: StdioSession;
  beforeAll(async () => {
    session = await startStdio({ era });
  });
  afterAll(async () => session.close());

  it('negotiates the era the client asked for', () => {
    expect(session.client.getProtocolEra()).toBe(era === 'auto' ? 'modern' : 'legacy');
    expect(session.client.getServerVersion()?.name).toBe('hangar');
  });

  it('lists the execution tools with schemas, titles and annotations', async () => {
    const { tools } = await session.client.listTools();
    const names = tools.map((t) => t.name);
    for (const name of ['run_code', 'execute_code', 'list_languages', 'get_content']) expect(names).toContain(name);
    for (const tool of tools) {
      expect(tool.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(tool.title ?? tool.annotations?.title).toBeTruthy();
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.annotations?.readOnlyHint).toBeTypeOf('boolean');
    }
  });

  it('runs python and returns structured output', async () => {
    const result = await runPython(session.client, 'print(6 * 7)');
    expect(result).toMatchObject({ status: 'ok', stdout: '42\n', exit_code: 0 });
  });
});

describe('HTTP, plain', () => {
  let server: HttpServer;
  beforeAll(async () => {
    server = await startHttp();
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('serves the modern era', async () => {
    const client = await connectHttp(server.url, { era: 'auto' });
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect((await runPython(client, 'print("modern")')).stdout).toBe('modern\n');
    } finally {
      await client.close();
    }
  });

  it('serves the legacy era with a session by default', async () => {
    const client = await connectHttp(server.url, { era: 'legacy' });
    try {
      expect(client.getProtocolEra()).toBe('legacy');
      expect((await runPython(client, 'print("legacy")')).stdout).toBe('legacy\n');
      // A session was made: the initialize response named one.
      const raw = await post(server.url, {});
      expect(raw.status).toBe(200);
      expect(raw.headers['mcp-session-id']).toBeTruthy();
    } finally {
      await client.close();
    }
  });

  it('answers an unknown legacy session with 404', async () => {
    const res = await post(server.url, { 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-11-25' }, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    expect(res.status).toBe(404);
  });

  it('GET /healthz answers 200 JSON', async () => {
    const res = await fetch(new URL('/healthz', server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ status: 'ok', name: 'hangar' });
  });

  it('refuses a foreign Origin with 403 and accepts a loopback one', async () => {
    expect((await post(server.url, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(server.url, { Origin: 'http://localhost:3000' })).status).toBe(200);
  });

  it('refuses a foreign Host with 403 (DNS rebinding)', async () => {
    expect((await post(server.url, { Host: 'evil.example:80' })).status).toBe(403);
    expect((await post(server.url, { Host: `localhost:${new URL(server.url).port}` })).status).toBe(200);
  });
});

describe('HTTP, legacy --stateless', () => {
  let server: HttpServer;
  beforeAll(async () => {
    server = await startHttp({ args: ['--stateless'] });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('serves a legacy client without a session', async () => {
    const res = await post(server.url, {});
    expect(res.status).toBe(200);
    expect(res.headers['mcp-session-id']).toBeUndefined();
    const client = await connectHttp(server.url, { era: 'legacy' });
    try {
      expect((await runPython(client, 'print("stateless")')).stdout).toBe('stateless\n');
    } finally {
      await client.close();
    }
  });
});

describe('HTTP with a bearer token', () => {
  const token = 'a-test-token-of-good-length-0123';
  let server: HttpServer;
  beforeAll(async () => {
    server = await startHttp({ env: { HANGAR_AUTH_TOKEN: token } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers 401 without a token and with a wrong one', async () => {
    const none = await post(server.url, {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await post(server.url, { Authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await post(server.url, { Authorization: `Bearer ${token.slice(0, -1)}X` })).status).toBe(401);
    expect((await post(server.url, { Authorization: token })).status).toBe(401);
  });

  it('the official client fails without the token and works with it, in both eras', async () => {
    await expect(connectHttp(server.url, { era: 'legacy' })).rejects.toThrow();
    await expect(connectHttp(server.url, { era: 'auto', token: 'wrong-token-wrong-token' })).rejects.toThrow();
    for (const era of ['auto', 'legacy'] as const) {
      const client = await connectHttp(server.url, { era, token });
      try {
        expect((await runPython(client, 'print("authorized")')).stdout).toBe('authorized\n');
      } finally {
        await client.close();
      }
    }
  });

  it('keeps the token out of the code it runs', async () => {
    const client = await connectHttp(server.url, { token });
    try {
      const result = await runPython(client, 'import os\nprint(sorted(os.environ.items()))');
      expect(result.stdout).not.toContain(token);
      expect(result.stdout).not.toContain('HANGAR_');
    } finally {
      await client.close();
    }
  });

  it('/healthz needs no token', async () => {
    expect((await fetch(new URL('/healthz', server.url))).status).toBe(200);
  });
});

describe('HTTPS with a self-signed certificate', () => {
  let server: HttpServer;
  let tls: Awaited<ReturnType<typeof selfSignedCert>>;
  beforeAll(async () => {
    tls = await selfSignedCert();
    server = await startHttp({ args: ['--tls-cert', tls.cert, '--tls-key', tls.key] });
  });
  afterAll(async () => {
    await server.stop();
    await rm(tls.dir, { recursive: true, force: true });
  });

  it('serves https and both eras through a client that trusts the certificate', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
    for (const era of ['auto', 'legacy'] as const) {
      const client = await connectHttp(server.url, { era, fetch: fetchTrusting(tls.pem) });
      try {
        expect((await runPython(client, 'print("over tls")')).stdout).toBe('over tls\n');
      } finally {
        await client.close();
      }
    }
  });

  it('a client that does not trust the certificate cannot connect', async () => {
    await expect(connectHttp(server.url, { era: 'legacy' })).rejects.toThrow();
  });
});
