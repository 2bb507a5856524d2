import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, type StdioSession } from '../helpers/cli.js';
import { exec, expectToolError } from '../helpers/results.js';

/** Every hostile call must be an isError result with a stable code, and the server keeps serving. */
describe('bad input', () => {
  let s: StdioSession;
  beforeAll(async () => {
    s = await startStdio();
  });
  afterAll(async () => s.close());

  const stillServes = async (): Promise<void> => {
    expect((await exec(s.client, { code: 'print("alive")' })).stdout).toBe('alive\n');
  };

  it.each([
    ['missing code', 'run_code', {}, /code is required/],
    ['code not a string', 'run_code', { code: 42 }, /code/],
    ['code null', 'run_code', { code: null }, /code/],
    ['args not an array', 'run_code', { code: 'print(1)', args: 'a b' }, /args/],
    ['args with a number', 'run_code', { code: 'print(1)', args: ['a', 1] }, /args\.1/],
    ['timeout a string', 'run_code', { code: 'print(1)', timeout_s: '5' }, /timeout_s/],
    ['timeout negative', 'run_code', { code: 'print(1)', timeout_s: -1 }, /timeout_s/],
    ['timeout NaN-ish', 'run_code', { code: 'print(1)', timeout_s: 0 }, /timeout_s/],
    ['files not a map', 'run_code', { code: 'print(1)', files: ['a'] }, /files/],
    ['files value not text', 'run_code', { code: 'print(1)', files: { 'a.txt': 1 } }, /files/],
    ['unknown extra argument', 'run_code', { code: 'print(1)', bogus: true }, /unknown argument "bogus"/],
    ['NUL in code', 'run_code', { code: 'print(1)\u0000' }, /NUL/],
    ['NUL in args', 'run_code', { code: 'print(1)', args: ['a\u0000b'] }, /NUL/],
    ['NUL in a file path', 'run_code', { code: 'print(1)', files: { 'a\u0000b': 'x' } }, /NUL/],
    ['NUL in language', 'run_code', { code: 'print(1)', language: 'py\u0000thon' }, /NUL/],
    ['execute_code without language', 'execute_code', { code: 'print(1)' }, /language is required/],
    ['get_content bad offset', 'get_content', { ref_id: 'ref_0123456789ab', offset: -5 }, /offset/],
    ['get_content huge length', 'get_content', { ref_id: 'ref_0123456789ab', length: 1e12 }, /length/],
    ['list_languages with an argument', 'list_languages', { all: true }, /unknown argument/],
  ])('%s → INVALID_ARGUMENT', async (_name, tool, args, message) => {
    const text = await expectToolError(s.client, tool, args, 'INVALID_ARGUMENT');
    expect(text).toMatch(message);
    expect(text).not.toMatch(/\n\s+at /); // no stack trace of ours
    expect(text).not.toContain('\u0000'); // control bytes of the caller are escaped
    await stillServes();
  });

  it('5 MB of code → INVALID_ARGUMENT', async () => {
    const text = await expectToolError(s.client, 'run_code', { code: `# ${'x'.repeat(5 * 1048576)}\nprint(1)` }, 'INVALID_ARGUMENT');
    expect(text).toMatch(/code is limited/);
    expect(text.length).toBeLessThan(2000);
    await stillServes();
  });

  it('5 MB of stdin → INVALID_ARGUMENT', async () => {
    await expectToolError(s.client, 'run_code', { code: 'print(1)', stdin: 'y'.repeat(5 * 1048576) }, 'INVALID_ARGUMENT');
    await stillServes();
  });

  it('unknown tool → UNKNOWN_TOOL naming the tools', async () => {
    const text = await expectToolError(s.client, 'rm_rf', {}, 'UNKNOWN_TOOL');
    expect(text).toContain('run_code');
    await expectToolError(s.client, 'x'.repeat(10_000), {}, 'UNKNOWN_TOOL');
    await stillServes();
  });

  it('unknown or empty language → LANGUAGE_UNAVAILABLE', async () => {
    await expectToolError(s.client, 'run_code', { code: 'print(1)', language: 'klingon' }, 'LANGUAGE_UNAVAILABLE');
    await expectToolError(s.client, 'run_code', { code: 'print(1)', language: '' }, 'LANGUAGE_UNAVAILABLE');
    await stillServes();
  });

  it('arguments that are not an object → INVALID_ARGUMENT', async () => {
    // The client would refuse to send these, so speak the protocol directly.
    const result = await s.client.request({ method: 'tools/call', params: { name: 'run_code', arguments: 'print(1)' as unknown as Record<string, unknown> } }).catch((e: Error) => e);
    if (result instanceof Error) expect(result.message).toMatch(/invalid|argument/i);
    else {
      const r = result as { isError?: boolean; content: { text: string }[] };
      expect(r.isError).toBe(true);
      expect(r.content[0]?.text).toMatch(/^INVALID_ARGUMENT: /);
    }
    await stillServes();
  });
});
