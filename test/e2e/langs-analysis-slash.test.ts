import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStdio, type StdioSession } from '../helpers/cli.js';

/** Through the built CLI and the official client: languages, the analysis toolset, slash commands as prompts and as execute_code. */
describe('built CLI: languages, analysis, slash', () => {
  let session: StdioSession;
  beforeAll(async () => {
    session = await startStdio({ args: ['--toolsets', 'core,analysis'] });
  });
  afterAll(async () => session.close());

  it('list_languages reports availability, version and command', async () => {
    const result = await session.client.callTool({ name: 'list_languages', arguments: {} });
    const { languages } = result.structuredContent as { languages: { id: string; available: boolean; version: string | null; command: string | null }[] };
    const c = languages.find((l) => l.id === 'c');
    expect(c?.available).toBe(true);
    expect(c?.command).toMatch(/-o <build>\/prog .*&& <build>\/prog$/);
    expect(languages.find((l) => l.id === 'typescript')?.available).toBe(true);
  });

  it('runs TypeScript and a C compile error through run_code', async () => {
    const ts = await session.client.callTool({ name: 'run_code', arguments: { language: 'typescript', code: 'const n: number = 41;\nconsole.log(n + 1)' } });
    expect((ts.structuredContent as { stdout: string }).stdout).toBe('42\n');
    const c = await session.client.callTool({ name: 'run_code', arguments: { language: 'c', code: 'int main(void) { return nope; }' } });
    expect(c.isError).toBeFalsy();
    expect(c.structuredContent).toMatchObject({ status: 'error' });
    expect((c.structuredContent as { stderr: string }).stderr).toMatch(/nope/);
  });

  it('exposes the analysis tools with output schemas', async () => {
    const { tools } = await session.client.listTools();
    for (const name of ['benchmark_code', 'compare_variants', 'analyze_code']) expect(tools.find((t) => t.name === name)?.outputSchema?.type).toBe('object');
    const analyzed = await session.client.callTool({ name: 'analyze_code', arguments: { code: 'import ctypes', language: 'python' } });
    expect(analyzed.structuredContent).toMatchObject({ method: 'python_ast', findings: [{ line: 1, rule: 'native_code' }] });
    const bench = await session.client.callTool({ name: 'benchmark_code', arguments: { code: 'x = 1', iterations: 3 } });
    expect(bench.structuredContent).toMatchObject({ method: 'in_process', status: 'ok' });
    const bad = await session.client.callTool({ name: 'benchmark_code', arguments: { code: 'x', iterations: 0 } });
    expect(bad.isError).toBe(true);
  });

  it('lists the slash commands as prompts with arguments', async () => {
    const { prompts } = await session.client.listPrompts();
    const names = prompts.map((p) => p.name);
    expect(names).toEqual(['help', 'status', 'run', 'secure_run', 'dev_run', 'benchmark', 'quantum', 'cleanup']);
    expect(prompts.find((p) => p.name === 'run')?.arguments).toEqual([
      expect.objectContaining({ name: 'language', required: true }),
      expect.objectContaining({ name: 'code', required: true }),
    ]);
  });

  it('prompts/get runs the command and keeps multi-line code intact', async () => {
    const got = await session.client.getPrompt({ name: 'run', arguments: { language: 'python', code: 'for i in range(2):\n    print("line", i)' } });
    const message = got.messages[0]?.content as { type: string; text: string };
    expect(message.text).toContain('line 0\nline 1');
    await expect(session.client.getPrompt({ name: 'run', arguments: { language: 'python' } })).rejects.toThrow(/INVALID_ARGUMENT/);
  });

  it('execute_code accepts language "slash"', async () => {
    const run = await session.client.callTool({ name: 'execute_code', arguments: { language: 'slash', code: '/run python\nif True:\n    print("indented")' } });
    expect((run.structuredContent as { stdout: string }).stdout).toBe('indented\n');
    const help = await session.client.callTool({ name: 'execute_code', arguments: { language: 'slash', code: '/help' } });
    expect((help.structuredContent as { stdout: string }).stdout).toContain('/quantum');
    const wrong = await session.client.callTool({ name: 'execute_code', arguments: { language: 'slash', code: 'print(1)' } });
    expect(wrong.isError).toBe(true);
    expect((wrong.content as { text: string }[])[0]?.text).toMatch(/^INVALID_ARGUMENT: /);
  });
});
