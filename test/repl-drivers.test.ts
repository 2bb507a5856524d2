import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/schema.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { tempDir } from './helpers/cli.js';

describe('builtin javascript and bash drivers', () => {
  let runtime: Runtime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir();
    runtime = await createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'silent' }), { hostEnv: { PATH: `/usr/bin:/bin:${process.execPath.replace(/\/node$/, '')}` }, interruptGraceMs: 1500 });
  });
  afterAll(async () => {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('javascript: state, console, last value, top-level await, errors, interrupt', async () => {
    const s = await runtime.sessions.create({ language: 'javascript' });
    const a = await runtime.sessions.execute(s.session_id, 'let x = 40\nconsole.log("hi")\nx + 2');
    expect(a.status).toBe('ok');
    expect(a.stdout).toBe('hi\n');
    expect(a.result).toBe('42');
    const b = await runtime.sessions.execute(s.session_id, 'const v = await new Promise((r) => setTimeout(() => r(x), 10))\nv * 2');
    expect(b.result).toBe('80');
    expect((await runtime.sessions.execute(s.session_id, 'v + 1')).result).toBe('41');
    const e = await runtime.sessions.execute(s.session_id, 'null.foo');
    expect(e.status).toBe('error');
    expect(e.error?.name).toBe('TypeError');
    const spin = await runtime.sessions.execute(s.session_id, 'while (true) {}', { timeoutS: 1 });
    expect(spin.status).toBe('timeout');
    expect(spin.state_lost).toBe(false);
    expect((await runtime.sessions.execute(s.session_id, 'x')).result).toBe('40');
  });

  it('javascript top-level await: declarations of every kind persist, a multi-line last expression is the result', async () => {
    const s = await runtime.sessions.create({ language: 'javascript' });
    const cell = [
      'const { a, b: [c] } = await Promise.resolve({ a: 1, b: [2] })',
      'function twice(n) { return n * 2 }',
      'class Box { constructor(v) { this.v = v } }',
      'for (const i of [1, 2]) await null;',
      '({',
      '  sum: a + c,',
      '  box: new Box(twice(await Promise.resolve(c))),',
      '})',
    ].join('\n');
    const r = await runtime.sessions.execute(s.session_id, cell);
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.result).toBe('{ sum: 3, box: Box { v: 4 } }');
    expect((await runtime.sessions.execute(s.session_id, 'twice(a) + c + new Box(5).v')).result).toBe('9');
    // A cell that awaits and ends in a statement has no result; a rejected await is the cell's error.
    expect((await runtime.sessions.execute(s.session_id, 'await null;\nlet z = 1')).result).toBeNull();
    const rejected = await runtime.sessions.execute(s.session_id, 'await Promise.reject(new RangeError("nope"))');
    expect(rejected.error).toMatchObject({ name: 'RangeError', message: 'nope' });
    // "await" inside a string is not top-level await.
    expect((await runtime.sessions.execute(s.session_id, '"no await here".length')).result).toBe('13');
  });

  it('bash: cwd and variables persist, exit status per cell, interrupt', async () => {
    const s = await runtime.sessions.create({ language: 'bash' });
    const a = await runtime.sessions.execute(s.session_id, 'mkdir -p sub && cd sub\nGREETING=héllo');
    expect(a.status).toBe('ok');
    const b = await runtime.sessions.execute(s.session_id, 'echo "$GREETING from $(basename "$PWD")"; echo oops >&2');
    expect(b.stdout).toBe('héllo from sub\n');
    expect(b.stderr).toBe('oops\n');
    const c = await runtime.sessions.execute(s.session_id, 'false');
    expect(c.status).toBe('error');
    expect(c.error?.message).toContain('exit status 1');
    const sleep = await runtime.sessions.execute(s.session_id, 'sleep 100', { timeoutS: 1 });
    expect(sleep.status).toBe('timeout');
    expect((await runtime.sessions.execute(s.session_id, 'echo $GREETING')).stdout).toBe('héllo\n');
  });
});
