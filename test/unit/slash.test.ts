import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSlash, splitVariants } from '../../src/runtime/slash/parse.js';
import { runSlashPrompt, runSlashText } from '../../src/tools/slash.js';
import { testRuntime } from '../helpers/runtime.js';

type TestRuntime = Awaited<ReturnType<typeof testRuntime>>;

describe('slash parser', () => {
  it('keeps the body byte for byte: newlines and indentation', () => {
    const parsed = parseSlash('/run python\ndef f():\n    return 1\n\n\tprint(f())\n');
    expect(parsed).toEqual({ name: 'run', words: ['python'], body: 'def f():\n    return 1\n\n\tprint(f())\n' });
  });
  it('unwraps one fenced block and accepts dashes in names', () => {
    expect(parseSlash('/secure-run py\n```python\nif x:\n  y()\n```\n')).toEqual({ name: 'secure_run', words: ['py'], body: 'if x:\n  y()' });
  });
  it('rejects text without a command', () => {
    expect(() => parseSlash('print(1)')).toThrow(/INVALID_ARGUMENT|must start with a command/);
    expect(() => parseSlash('')).toThrow(/must start with a command/);
  });
  it('splits quantum variants on --- lines only', () => {
    expect(splitVariants('a = 1\nprint("---")\n---\n  b\n  ---  \nc\n')).toEqual(['a = 1\nprint("---")', '  b', 'c']);
  });
});

describe('slash commands', () => {
  let runtime: TestRuntime;
  const ctx = () => ({ runtime, signal: new AbortController().signal, progress: () => undefined });
  beforeAll(async () => {
    runtime = await testRuntime();
  });
  afterAll(async () => runtime.dispose());

  it('/help lists every command', async () => {
    const reply = await runSlashText('/help', ctx());
    for (const name of ['help', 'status', 'run', 'secure_run', 'dev_run', 'benchmark', 'quantum', 'cleanup']) expect(reply.text).toContain(`/${name}`);
  });

  it('/status shows level, limits, languages and running work', async () => {
    const { text } = await runSlashText('/status', ctx());
    // Isolated wherever bubblewrap works (CI installs it); process elsewhere, and it says which.
    expect(text).toMatch(/sandbox\s+(isolated|process)/);
    expect(text).not.toMatch(/unlimited (s|MB)/);
    expect(text).toMatch(/timeout 60 s/);
    expect(text).toMatch(/languages\s+python/);
    expect(text).toMatch(/running\s+0 processes; 0 launched ahead for the next run \(max 4\)/);
  });

  it('/run keeps indentation and returns the execution', async () => {
    const reply = await runSlashText('/run python\nfor i in range(2):\n    if i:\n        print("in", i)\n', ctx());
    expect(reply.execution?.stdout).toBe('in 1\n');
  });

  it('/secure_run shows findings and runs isolated, without network, with tight limits', async () => {
    const reply = await runSlashText('/secure_run python\nimport os\nos.system("echo hi")', ctx());
    expect(reply.text).toMatch(/shell: runs a shell command/);
    expect(reply.execution?.sandbox).toMatchObject({
      level: 'isolated',
      network: 'off',
      limits: { timeout_s: 10, memory_mb: 256, cpu_s: 10, max_processes: 32, max_file_mb: 16 },
    });
    expect(reply.execution?.stdout).toBe('hi\n');
    // The memory limit is real: 400 MB is more than /secure_run allows.
    const hungry = await runSlashText('/secure_run python\nb = bytearray(400 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1', ctx());
    expect(hungry.execution).toMatchObject({ status: 'killed', error: { message: 'memory limit 256 MB exceeded' } });
  });

  it('/dev_run uses larger limits and network on', async () => {
    const reply = await runSlashText('/dev_run bash\necho ok', ctx());
    expect(reply.execution?.sandbox).toMatchObject({ network: 'on', limits: { timeout_s: 300, memory_mb: 4096 } });
    expect(reply.execution?.stdout).toBe('ok\n');
  });

  it('/benchmark and /quantum map to the analysis tools', async () => {
    const bench = await runSlashText('/benchmark python 4\nx = sum(range(100))', ctx());
    expect(bench.text).toMatch(/4 iterations after 1 warm-up \(in process\)/);
    const quantum = await runSlashText('/quantum python 2\nprint(sum(range(10)))\n---\nprint(45)\n---\nprint(44)\n', ctx());
    expect(quantum.text).toMatch(/winner: variant_[12]/);
    expect(quantum.text).toMatch(/variant_3: disagrees/);
  });

  it('explains mistakes with INVALID_ARGUMENT', async () => {
    await expect(runSlashText('/run\nprint(1)', ctx())).rejects.toThrow(/needs a language/);
    await expect(runSlashText('/run python', ctx())).rejects.toThrow(/needs code/);
    await expect(runSlashText('/nope', ctx())).rejects.toThrow(/unknown slash command/);
    await expect(runSlashText('/benchmark python lots\nx=1', ctx())).rejects.toThrow(/iterations/);
    await expect(runSlashText('/quantum python\nprint(1)', ctx())).rejects.toThrow(/at least two variants/);
    await expect(runSlashPrompt('run', { language: 'python' }, ctx())).rejects.toThrow(/needs the argument "code"/);
  });

  it('prompts run through the same parser', async () => {
    const reply = await runSlashPrompt('run', { language: 'python', code: 'if True:\n    print("kept")' }, ctx());
    expect(reply.execution?.stdout).toBe('kept\n');
  });

  it('/cleanup removes leftover scratch and, with all, this server\'s content', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(`${runtime.layout.scratch}/run_leftover/work`, { recursive: true });
    const old = await runtime.content.put('x', 'text/plain', 'from this server');
    const first = await runSlashText('/cleanup', ctx());
    expect(first.text).toMatch(/removed 1 scratch directory and 0 content/);
    const all = await runSlashText('/cleanup all', ctx());
    expect(all.text).toMatch(/removed 0 scratch directories and 1 content item\(s\); 0 kept/);
    await expect(runtime.content.meta(old.ref_id)).rejects.toThrow();
  });
});
