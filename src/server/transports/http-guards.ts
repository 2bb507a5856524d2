import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../../config/schema.js';

/**
 * Checks in front of the MCP endpoint: bearer token, and Host / Origin against DNS rebinding.
 * Each returns null when the request may pass, else the status and message to answer with.
 */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export function checkBearer(req: IncomingMessage, token: string | undefined): Refusal | null {
  if (!token) return null;
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  const given = Buffer.from(match?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  const ok = given.length === expected.length && timingSafeEqual(given, expected);
  if (ok) return null;
  return {
    status: 401,
    message: match ? 'invalid bearer token' : 'missing "Authorization: Bearer <token>" header',
    headers: { 'WWW-Authenticate': 'Bearer realm="hangar"' },
  };
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'));
  const colon = hostHeader.lastIndexOf(':');
  return colon > 0 ? hostHeader.slice(0, colon) : hostHeader;
}

/**
 * On a loopback bind only loopback names are accepted in Host: a DNS-rebinding page cannot make
 * the browser send Host: 127.0.0.1. On other binds the token is the protection.
 */
export function checkHost(req: IncomingMessage, loopbackBind: boolean): Refusal | null {
  if (!loopbackBind) return null;
  const host = req.headers.host;
  if (host && isLoopbackHost(hostnameOf(host))) return null;
  return { status: 403, message: `Host "${host ?? ''}" is not allowed; connect to 127.0.0.1 or localhost` };
}

/** Browsers send Origin; a page from another origin must not drive the server. */
export function checkOrigin(req: IncomingMessage): Refusal | null {
  const origin = req.headers.origin;
  if (!origin) return null;
  let hostname: string;
  try {
    hostname = new URL(origin).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return { status: 403, message: `Origin "${origin}" is not a valid origin` };
  }
  if (isLoopbackHost(hostname)) return null;
  const host = req.headers.host ? hostnameOf(req.headers.host) : '';
  if (host && hostname === host) return null;
  return { status: 403, message: `Origin "${origin}" is not allowed` };
}
