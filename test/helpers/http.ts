import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport, type FetchLike } from '@modelcontextprotocol/client';
import { CLI, tempDir, type Era } from './cli.js';

export interface HttpServer {
  url: string;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolves with the exit of a child, collecting its output. */
export function collectExit(child: ChildProcess): Promise<ExitResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * Starts `hangar serve --transport http` on 127.0.0.1, port 0 (the kernel picks a free one), and
 * resolves once the server logs its URL. Give `ca` for a TLS server so the health check trusts it.
 */
export async function startHttp(options: { args?: string[]; env?: Record<string, string>; dataDir?: string } = {}): Promise<HttpServer> {
  const dataDir = options.dataDir ?? (await tempDir());
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--transport', 'http', '--addr', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'info', ...(options.args ?? [])],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 15 s:\n${stderr}`)), 15_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /serving MCP at (\S+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving:\n${stderr}`));
    });
  });
  child.stdout.resume();
  return {
    url,
    pid: child.pid ?? -1,
    dataDir,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface HttpClientOptions {
  era?: Era;
  token?: string;
  headers?: Record<string, string>;
  fetch?: FetchLike;
}

/** The official client over Streamable HTTP. */
export async function connectHttp(url: string, options: HttpClientOptions = {}): Promise<Client> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const client = new Client(
    { name: 'hangar-test', version: '1.0.0' },
    options.era === 'legacy' ? {} : { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(transport);
  return client;
}

/**
 * A raw HTTP exchange with the server, for status-code checks the client hides. node:http rather
 * than fetch, because fetch does not let a caller set Host.
 */
export function post(url: string, headers: Record<string, string>, body: unknown = initializeBody()): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      new URL(url),
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Content-Length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function initializeBody(): unknown {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
}

const run = promisify(execFile);

/** A self-signed certificate for 127.0.0.1 / localhost, made with openssl in a temp dir. */
export async function selfSignedCert(): Promise<{ dir: string; cert: string; key: string; pem: string }> {
  const dir = await tempDir('hangar-tls-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { dir, cert, key, pem: await readFile(cert, 'utf8') };
}

/**
 * A fetch over node:https that trusts `ca` only: the client's transport takes a custom fetch, and
 * Node's global fetch offers no per-call CA without the undici package.
 */
export function fetchTrusting(ca: string): FetchLike {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const req = https.request(url, { method: init?.method ?? 'GET', headers, ca, signal: init?.signal ?? undefined }, (res) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) value.forEach((v) => responseHeaders.append(name, v));
          else if (value !== undefined) responseHeaders.set(name, value);
        }
        const status = res.statusCode ?? 500;
        const nullBody = status === 204 || status === 205 || status === 304;
        if (nullBody) res.resume();
        resolve(new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream), { status, headers: responseHeaders }));
      });
      req.on('error', reject);
      const body = init?.body;
      if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
      else req.end();
    });
}
