import { createHmac, createSecretKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * The Jupyter messaging protocol's wire format (v5.3): identities, the `<IDS|MSG>` delimiter, an
 * HMAC-SHA256 signature over header, parent header, metadata and content, then those four JSON
 * frames and any buffers.
 */
export interface JupyterMessage {
  header: { msg_id: string; msg_type: string; session: string; [key: string]: unknown };
  parent_header: { msg_id?: string; [key: string]: unknown };
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  /** The content frame left unparsed (`content` is then empty): a caller asked for it raw. */
  contentFrame?: Buffer;
}

/**
 * What a caller wants of a message, decided from its header, parent header and content size:
 * nothing (dropped before its signature is checked), all of it, or `'raw'`: verified, with the
 * content frame handed over unparsed (a big stream message is decoded in chunks, json-text.ts).
 */
export type Wanted = (header: JupyterMessage['header'], parent: JupyterMessage['parent_header'], contentBytes: number) => boolean | 'raw';

const DELIMITER = '<IDS|MSG>';

export class JupyterWire {
  readonly session = randomUUID();
  /** Made once: a string key is converted again on every HMAC (≈ a fifth of its cost). */
  private readonly key: KeyObject;

  constructor(key: string) {
    this.key = createSecretKey(Buffer.from(key));
  }

  private sign(parts: Buffer[]): string {
    const hmac = createHmac('sha256', this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  }

  /** Frames of a new request; returns its msg_id so replies can be matched. */
  request(msgType: string, content: Record<string, unknown>): { msgId: string; frames: (string | Buffer)[] } {
    const msgId = randomUUID();
    const header = { msg_id: msgId, msg_type: msgType, session: this.session, username: 'hangar', date: new Date().toISOString(), version: '5.3' };
    const parts = [header, {}, {}, content].map((p) => Buffer.from(JSON.stringify(p)));
    return { msgId, frames: [DELIMITER, this.sign(parts), ...parts] };
  }

  /**
   * Parses and verifies a message; undefined for a bad signature or a malformed one (dropped).
   * `wanted` sees the header and parent header first: a message it declines is dropped before its
   * signature is checked and its content parsed (execute_input echoes the whole cell's code).
   */
  parse(frames: Buffer[], wanted?: Wanted): JupyterMessage | undefined {
    const at = frames.findIndex((f) => f.length === DELIMITER.length && f.toString() === DELIMITER);
    if (at < 0 || frames.length < at + 6) return undefined;
    const parts = frames.slice(at + 2, at + 6);
    try {
      const header = JSON.parse(parts[0]?.toString('utf8') ?? '') as JupyterMessage['header'] | null;
      const parent = (JSON.parse(parts[1]?.toString('utf8') ?? '') as JupyterMessage['parent_header'] | null) ?? {};
      if (typeof header !== 'object' || header === null) return undefined;
      const want = wanted ? wanted(header, parent, parts[3]?.length ?? 0) : true;
      if (!want) return undefined;
      const expected = Buffer.from(this.sign(parts));
      const got = Buffer.from(frames[at + 1]?.toString() ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
      const metadata = JSON.parse(parts[2]?.toString('utf8') ?? '') as Record<string, unknown> | null;
      if (want === 'raw') return { header, parent_header: parent, metadata: metadata ?? {}, content: {}, contentFrame: parts[3] };
      const content = JSON.parse(parts[3]?.toString('utf8') ?? '') as Record<string, unknown> | null;
      return { header, parent_header: parent, metadata: metadata ?? {}, content: content ?? {} };
    } catch {
      return undefined;
    }
  }
}
