import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JupyterWire } from '../../src/runtime/sessions/jupyter-wire.js';

const KEY = 'a-secret-key';

/** A kernel's message as the kernel signs it (the real kernels are exercised in test/repl.test.ts). */
function kernelMessage(msgType: string, parentId: string, content: unknown, key = KEY): Buffer[] {
  const parts = [{ msg_id: `k-${msgType}`, msg_type: msgType, session: 'kernel', username: 'k', date: '', version: '5.3' }, { msg_id: parentId }, {}, content].map((p) => Buffer.from(JSON.stringify(p)));
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return [Buffer.from('kernel.1.topic'), Buffer.from('<IDS|MSG>'), Buffer.from(hmac.digest('hex')), ...parts];
}

describe('JupyterWire', () => {
  it('signs requests the way the kernel verifies them', () => {
    const wire = new JupyterWire(KEY);
    const { msgId, frames } = wire.request('execute_request', { code: '1' });
    const parts = frames.slice(2).map((f) => Buffer.from(f));
    const hmac = createHmac('sha256', KEY);
    for (const part of parts) hmac.update(part);
    expect(frames[0]).toBe('<IDS|MSG>');
    expect(frames[1]).toBe(hmac.digest('hex'));
    expect(JSON.parse(parts[0]!.toString())).toMatchObject({ msg_id: msgId, msg_type: 'execute_request', session: wire.session, version: '5.3' });
  });

  it('parses a signed message and drops a forged, a truncated or a malformed one', () => {
    const wire = new JupyterWire(KEY);
    expect(wire.parse(kernelMessage('stream', 'p1', { name: 'stdout', text: 'hi' }))).toMatchObject({ header: { msg_type: 'stream' }, parent_header: { msg_id: 'p1' }, content: { text: 'hi' } });
    expect(wire.parse(kernelMessage('stream', 'p1', { text: 'forged' }, 'another-key'))).toBeUndefined();
    const tampered = kernelMessage('stream', 'p1', { text: 'a' });
    tampered[6] = Buffer.from(JSON.stringify({ text: 'b' }));
    expect(wire.parse(tampered)).toBeUndefined();
    expect(wire.parse(kernelMessage('stream', 'p1', {}).slice(0, 5))).toBeUndefined();
    const broken = kernelMessage('stream', 'p1', {});
    broken[3] = Buffer.from('{not json');
    expect(wire.parse(broken)).toBeUndefined();
    expect(wire.parse([Buffer.from('no delimiter')])).toBeUndefined();
  });

  it('a message the caller does not want is dropped before its signature and content are read', () => {
    const wire = new JupyterWire(KEY);
    const seen: string[] = [];
    const wanted = (header: { msg_type: string }, parent: { msg_id?: string }): boolean => {
      seen.push(`${header.msg_type}/${parent.msg_id}`);
      return header.msg_type !== 'execute_input';
    };
    const echo = kernelMessage('execute_input', 'p1', { code: 'x' });
    echo[6] = Buffer.from('{unparsed');
    expect(wire.parse(echo, wanted)).toBeUndefined();
    expect(wire.parse(kernelMessage('status', 'p1', { execution_state: 'idle' }), wanted)).toMatchObject({ content: { execution_state: 'idle' } });
    // A wanted message is still verified.
    expect(wire.parse(kernelMessage('status', 'p1', { execution_state: 'idle' }, 'another-key'), wanted)).toBeUndefined();
    expect(seen).toEqual(['execute_input/p1', 'status/p1', 'status/p1']);
  });

  it("'raw' hands the content frame over unparsed, still verified", () => {
    const wire = new JupyterWire(KEY);
    const frames = kernelMessage('stream', 'p1', { name: 'stdout', text: 'big' });
    const raw = wire.parse(frames, (_header, _parent, contentBytes) => (contentBytes > 10 ? 'raw' : true));
    expect(raw?.content).toEqual({});
    expect(raw?.contentFrame?.toString()).toBe(JSON.stringify({ name: 'stdout', text: 'big' }));
    expect(wire.parse(kernelMessage('stream', 'p1', { text: 'big' }, 'another-key'), () => 'raw')).toBeUndefined();
  });
});
