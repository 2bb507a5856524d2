import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCode } from '../../src/runtime/analysis/analyze.js';
import { benchmarkCode } from '../../src/runtime/analysis/benchmark.js';
import { compareVariants, normalizeOutput } from '../../src/runtime/analysis/compare.js';
import { parseHarnessOutput } from '../../src/runtime/analysis/harness.js';
import { summarize } from '../../src/runtime/analysis/stats.js';
import { testRuntime } from '../helpers/runtime.js';

type TestRuntime = Awaited<ReturnType<typeof testRuntime>>;

describe('stats', () => {
  it('computes min, median, mean, p95 and sample stdev', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ min_ms: 1, median_ms: 2.5, mean_ms: 2.5, p95_ms: 4, stdev_ms: 1.291 });
    expect(summarize([5])).toEqual({ min_ms: 5, median_ms: 5, mean_ms: 5, p95_ms: 5, stdev_ms: 0 });
  });
  it('ignores a forged marker without the random nonce and bad timing lines', () => {
    expect(parseHarnessOutput('x\n__HANGAR_BENCH_fake__[1]\n', '__HANGAR_BENCH_real__')).toBeUndefined();
    expect(parseHarnessOutput('x\n__M__["a"]\n', '__M__')).toBeUndefined();
    expect(parseHarnessOutput('x\n\n__M__[1,2]\n', '__M__')).toEqual({ output: 'x\n', timesNs: [1, 2] });
  });
  it('compares outputs without trailing whitespace', () => {
    expect(normalizeOutput('a  \r\nb\n\n')).toBe('a\nb');
  });
});

describe('analysis on a runtime', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await testRuntime();
  });
  afterAll(async () => runtime.dispose());

  it('benchmarks python inside one process, output of one warm-up kept', async () => {
    const code = 'import sys\ntotal = sum(range(20000))\nprint(total)';
    const r = await benchmarkCode(runtime, { code, language: 'python', iterations: 7, warmup: 2 });
    expect(r.method).toBe('in_process');
    expect(r.status).toBe('ok');
    expect(r.times_ms).toHaveLength(7);
    expect(r.stdout).toBe('199990000\n199990000\n');
    expect(r.stats?.min_ms).toBeGreaterThan(0);
    expect(r.stats!.min_ms).toBeLessThanOrEqual(r.stats!.median_ms);
    expect(r.stats!.median_ms).toBeLessThanOrEqual(r.stats!.p95_ms);
  });

  it('gives each python iteration fresh globals and the same stdin', async () => {
    const code = 'import sys\nassert "seen" not in globals()\nseen = 1\nprint(sys.stdin.read().upper())';
    const r = await benchmarkCode(runtime, { code, language: 'python', iterations: 3, warmup: 1, stdin: 'abc' });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('ABC\n');
  });

  it('benchmarks javascript in process, both as a script and as an ES module', async () => {
    const script = await benchmarkCode(runtime, { code: 'let s = 0; for (let i = 0; i < 1e4; i++) s += i; console.log(s)', language: 'javascript', iterations: 5, warmup: 1 });
    expect(script.method).toBe('in_process');
    expect(script.stdout).toBe('49995000\n');
    expect(script.times_ms).toHaveLength(5);
    const esm = await benchmarkCode(runtime, { code: "import os from 'node:os';\nconsole.log(typeof os.cpus)", language: 'javascript', iterations: 3, warmup: 1 });
    expect(esm.status).toBe('ok');
    expect(esm.stdout).toBe('function\n');
    expect(esm.notes.join(' ')).toMatch(/re-imports/);
  });

  it('falls back to repeated runs for other languages and says so', async () => {
    const r = await benchmarkCode(runtime, { code: 'echo hi', language: 'bash', iterations: 3, warmup: 0 });
    expect(r.method).toBe('repeated_runs');
    expect(r.times_ms).toHaveLength(3);
    expect(r.notes[0]).toMatch(/process start-up/);
  });

  it('reports a failing snippet and a timeout without timings', async () => {
    const failing = await benchmarkCode(runtime, { code: 'raise ValueError("no")', language: 'python', iterations: 3, warmup: 0 });
    expect(failing.status).toBe('error');
    expect(failing.error).toBe('ValueError: no');
    const slow = await benchmarkCode(runtime, { code: 'import time\ntime.sleep(5)', language: 'python', iterations: 3, warmup: 0, timeoutS: 0.5 });
    expect(slow.status).toBe('timeout');
    expect(slow.stats).toBeNull();
  });

  it('ranks correct variants, and reports wrong, failing and slow ones unranked', { timeout: 60_000 }, async () => {
    const r = await compareVariants(runtime, {
      language: 'python',
      iterations: 3,
      expectedOutput: '4950',
      timeoutS: 5,
      variants: [
        { name: 'loop', code: 't = 0\nfor i in range(100):\n    t += i\nprint(t)' },
        { name: 'builtin', code: 'print(sum(range(100)))' },
        { name: 'wrong', code: 'print(sum(range(101)))' },
        { name: 'crash', code: 'print(1/0)' },
        { name: 'hang', code: 'while True: pass' },
      ],
    });
    const by = Object.fromEntries(r.variants.map((v) => [v.name, v]));
    expect(by.loop?.verdict).toBe('correct');
    expect(by.builtin?.verdict).toBe('correct');
    expect([by.loop?.rank, by.builtin?.rank].sort()).toEqual([1, 2]);
    expect(by.wrong).toMatchObject({ verdict: 'wrong_output', rank: null });
    expect(by.crash).toMatchObject({ verdict: 'failed', rank: null });
    expect(by.crash?.error).toMatch(/ZeroDivisionError/);
    expect(by.hang).toMatchObject({ verdict: 'timeout', rank: null });
    expect(r.winner === 'loop' || r.winner === 'builtin').toBe(true);
  });

  it('without expected output, the majority output wins and a tie ranks nothing', async () => {
    const majority = await compareVariants(runtime, {
      language: 'python',
      iterations: 2,
      variants: [
        { name: 'a', code: 'print(2)' },
        { name: 'b', code: 'print(1 + 1)' },
        { name: 'c', code: 'print(3)' },
      ],
    });
    expect(majority.checked_against).toBe('agreement');
    expect(majority.variants.find((v) => v.name === 'c')?.verdict).toBe('disagrees');
    const tie = await compareVariants(runtime, { language: 'python', iterations: 2, variants: [{ name: 'a', code: 'print(2)' }, { name: 'b', code: 'print(3)' }] });
    expect(tie.winner).toBeNull();
    expect(tie.notes.join(' ')).toMatch(/expected_output/);
  });

  it('rejects duplicate variant names', async () => {
    await expect(compareVariants(runtime, { language: 'python', iterations: 1, variants: [{ name: 'a', code: '' }, { name: 'a', code: '' }] })).rejects.toThrow(/used twice/);
  });

  it('finds risky python through the ast, with lines', async () => {
    const code = [
      'import os, subprocess as sp',
      'import ctypes',
      'from socket import socket',
      'os.system("ls")',
      'sp.run("ls", shell=True)',
      'eval("1+1")',
      'open("/etc/passwd", "w")',
      'open("data.txt")',
      's = socket()',
    ].join('\n');
    const r = await analyzeCode(runtime, code, 'python');
    expect(r.method).toBe('python_ast');
    const at = (line: number) => r.findings.filter((f) => f.line === line).map((f) => `${f.rule}/${f.severity}`);
    expect(at(2)).toEqual(['native_code/danger']);
    expect(at(3)).toContain('network/info');
    expect(at(4)).toEqual(['shell/danger']);
    expect(at(5)).toEqual(expect.arrayContaining(['process/warning', 'shell/danger']));
    expect(at(6)).toEqual(['eval/danger']);
    expect(at(7)).toEqual(['file_write/warning']);
    expect(at(8)).toEqual([]);
    expect(at(9)).toEqual(['network/warning']);
  });

  it('reports a python syntax error as a finding, not a failure', async () => {
    const r = await analyzeCode(runtime, 'def f(:\n  pass', 'python');
    expect(r.findings[0]).toMatchObject({ line: 1, rule: 'syntax_error' });
  });

  it('matches patterns in other languages', async () => {
    const sh = await analyzeCode(runtime, 'echo hi\ncurl http://x | sh\nrm -rf /', 'bash');
    expect(sh.method).toBe('patterns');
    expect(sh.findings.map((f) => `${f.line}:${f.rule}`)).toEqual(expect.arrayContaining(['2:network', '2:shell', '3:file_delete']));
    const js = await analyzeCode(runtime, "const cp = require('child_process');\neval(x)", 'js');
    expect(js.findings.map((f) => f.rule)).toEqual(['process', 'eval']);
    await expect(analyzeCode(runtime, 'x', 'cobol')).rejects.toThrow(/not a known language/);
  });
});
