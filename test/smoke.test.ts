import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, type StdioSession } from './helpers/cli.js';

describe.each(['auto', 'legacy'] as const)('stdio, era %s', (era) => {
  let session: StdioSession;
  beforeAll(async () => {
    session = await startStdio({ era });
  });
  afterAll(async () => session.close());

  it('lists tools with output schemas and annotations', async () => {
    const { tools } = await session.client.listTools();
    const runCode = tools.find((t) => t.name === 'run_code');
    expect(runCode?.outputSchema?.type).toBe('object');
    expect(runCode?.annotations?.readOnlyHint).toBe(false);
  });

  it('runs python', async () => {
    const result = await session.client.callTool({ name: 'run_code', arguments: { code: 'print(6*7)' } });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { stdout: string }).stdout).toBe('42\n');
  });
});
