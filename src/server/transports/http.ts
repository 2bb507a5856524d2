import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server as NodeServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isLegacyRequest,
  legacyStatelessFallback,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { addrHost, addrPort, isLoopbackHost, type Config } from '../../config/schema.js';
import type { Logger } from '../../runtime/logger.js';
import { SERVER_NAME, SERVER_VERSION, type HangarServer } from '../create-server.js';
import { checkBearer, checkHost, checkOrigin, type Refusal } from './http-guards.js';

/** A 2025-era client's session over Streamable HTTP (2026-era traffic needs none). */
interface LegacySession {
  transport: WebStandardStreamableHTTPServerTransport;
  lastUsed: number;
}

const SESSION_IDLE_MS = 60 * 60 * 1000;

export interface HttpHandle {
  url: string;
  close(): Promise<void>;
}

function refuse(res: ServerResponse, refusal: Refusal): void {
  res.writeHead(refusal.status, { 'Content-Type': 'application/json', ...refusal.headers });
  res.end(JSON.stringify({ error: refusal.message }));
}

/**
 * Streamable HTTP at the endpoint, both eras: 2026-07-28 requests go to the SDK's per-request
 * handler; 2025-era requests to sessions (or, with --stateless, to a fresh instance per request).
 */
export async function runHttp(hangar: HangarServer, config: Config, logger: Logger): Promise<HttpHandle> {
  const onerror = (error: Error): void => logger.debug('mcp http', { error: error.message });
  const modern = createMcpHandler(hangar.factory, { legacy: 'reject', onerror });
  const stateless = legacyStatelessFallback(hangar.factory, onerror);
  const sessions = new Map<string, LegacySession>();

  const sessionful = async (request: Request): Promise<Response> => {
    const id = request.headers.get('mcp-session-id');
    if (id) {
      const session = sessions.get(id);
      if (!session) {
        return Response.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found: start a new session with initialize' }, id: null }, { status: 404 });
      }
      session.lastUsed = Date.now();
      return session.transport.handleRequest(request);
    }
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sessionId) => {
        sessions.set(sessionId, { transport, lastUsed: Date.now() });
      },
      onsessionclosed: (sessionId) => {
        sessions.delete(sessionId);
      },
    });
    const server = await hangar.factory({ era: 'legacy' });
    await server.connect(transport);
    return transport.handleRequest(request);
  };

  const mcp = toNodeHandler({
    fetch: async (request) => {
      if (await isLegacyRequest(request)) return config.stateless ? stateless(request) : sessionful(request);
      return modern.fetch(request);
    },
  });

  const loopbackBind = isLoopbackHost(addrHost(config.addr));
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', name: SERVER_NAME, version: SERVER_VERSION }));
      return;
    }
    if (url.pathname !== config.endpoint) {
      refuse(res, { status: 404, message: `not found; the MCP endpoint is ${config.endpoint}` });
      return;
    }
    const refusal = checkHost(req, loopbackBind) ?? checkOrigin(req) ?? checkBearer(req, config.authToken);
    if (refusal) {
      refuse(res, refusal);
      return;
    }
    void mcp(req, res).catch((error: unknown) => {
      logger.error('http request failed', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) refuse(res, { status: 500, message: 'internal error' });
      else res.end();
    });
  };

  const tls = config.tlsCert && config.tlsKey ? { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) } : undefined;
  const server: NodeServer = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addrPort(config.addr), addrHost(config.addr), () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, session] of sessions) {
      if (now - session.lastUsed > SESSION_IDLE_MS) {
        sessions.delete(id);
        void session.transport.close();
      }
    }
  }, 60_000);
  sweep.unref();

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${address.port}${config.endpoint}`,
    async close() {
      clearInterval(sweep);
      await modern.close();
      for (const session of sessions.values()) await session.transport.close().catch(() => undefined);
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
