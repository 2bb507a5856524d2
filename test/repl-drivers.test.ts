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
