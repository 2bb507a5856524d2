import { describe, expect, it } from 'vitest';
import { BWRAP_ARGS_FD, bwrapArgs, sandboxedCommand, type BwrapPlan } from '../../src/runtime/sandbox/bwrap.js';

const plan = (env: Record<string, string>): BwrapPlan => ({ bwrap: '/usr/bin/bwrap', workDir: '/srv/data/ws', srcDir: '/srv/data/src', network: 'off', tmpBytes: 1 << 20, readOnly: ['/srv/env'], env });

describe('sandboxedCommand', () => {
  it("puts bubblewrap's options in its args pipe and only the program on the command line", () => {
    const { command, argsPipe } = sandboxedCommand(plan({ TOKEN: 'secret value', PATH: '/usr/bin' }), ['/usr/bin/python3', '-c', 'pass']);
    expect(command).toEqual(['/usr/bin/bwrap', '--args', String(BWRAP_ARGS_FD), '--', '/usr/bin/python3', '-c', 'pass']);
    const options = argsPipe.toString('utf8').split('\0');
    expect(options.pop()).toBe(''); // every option ends in NUL
    // The same options as the command-line form, without the closing `--`.
    expect(options).toEqual(bwrapArgs(plan({ TOKEN: 'secret value', PATH: '/usr/bin' })).slice(1, -1));
    expect(options).toContain('secret value');
    expect(command.join(' ')).not.toContain('/srv/data');
  });

  it('refuses an option with a NUL byte, which would smuggle in an option of its own', () => {
    expect(() => sandboxedCommand(plan({ X: 'a\0--bind\0/\0/host' }), ['/bin/true'])).toThrow(/NUL byte/);
  });
});
