import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { HangarServer } from '../create-server.js';

/**
 * MCP over stdin/stdout, both protocol eras (the SDK pins the era from the opening exchange).
 * Resolves when the client closes stdin; the caller then shuts the server down.
 */
export function runStdio(hangar: HangarServer, onError: (error: Error) => void): { closed: Promise<void>; close(): Promise<void> } {
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  process.stdin.once('end', () => resolveClosed());
  process.stdin.once('close', () => resolveClosed());
  const handle = serveStdio(hangar.factory, { onerror: onError });
  return {
    closed,
    close: () => handle.close(),
  };
}
