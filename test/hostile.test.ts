import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/schema.js';
import type { ExecutionResult } from '../src/runtime/exec/result.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { probeIsolation } from '../src/runtime/sandbox/bwrap.js';
import type { PolicyRequest, SandboxLevel } from '../src/runtime/sandbox/policy.js';
import { tempDir } from './helpers/cli.js';
import { leftoverCgroups, leftoversAfter, treeFingerprint } from './helpers/hostile.js';

/**
 * The hostile battery (issue 3): code that attacks the machine, the server and its limits. Each case
 * asserts the exact containment, then that no process of the run is left and that nothing outside
 * the run's working directory changed. Level isolated always; level process where the attack is
 * one that level claims to contain (as root, level process cannot keep code from the host's files
 * or processes: those cases are isolated only, see docs/sandbox.md).
 */

const isolation = await probeIsolation();
if (!isolation.available && process.env.CI === 'true') {
  throw new Error(`CI=true but the isolated sandbox is unavailable: ${isolation.reason}`);
}
const TOKEN = `hangar-secret-token-${randomBytes(8).toString('hex')}`;
const SECRET = `top-secret-${randomBytes(8).toString('hex')}`;

interface Ctx {
  marker: string;
  secretFile: string;
  dataDir: string;
  tcpPort: number;
  serverPid: number;
  home: string;
}

interface Case {
  name: string;
  levels: SandboxLevel[];
  language?: string;
  /** argv[1] (python sys.argv[1], bash $1) is the case's marker: children that keep it are found. */
  code: (ctx: Ctx) => string;
  policy?: PolicyRequest;
  check: (result: ExecutionResult, ctx: Ctx) => void | Promise<void>;
}

/** Polls `condition` every 10 ms for up to 10 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const BOTH: SandboxLevel[] = ['isolated', 'process'];
const ISOLATED: SandboxLevel[] = ['isolated'];

const killedFor = (result: ExecutionResult, reason: string | RegExp): void => {
  expect(result.status, JSON.stringify({ stderr: result.stderr.slice(-400), error: result.error })).toBe('killed');
  expect(result.error?.message).toMatch(reason);
};

const CASES: Case[] = [
  {
    name: 'bash fork bomb hits the process limit',
    levels: BOTH,
    language: 'bash',
    // The shell stays (as a real bomb's parent would): with `wait` it could exit before the bomb grew,
    // and the run's end would clean the bomb up before it reached the limit.
    code: () => 'bomb() { bomb | bomb & }; bomb; sleep 10',
    policy: { maxProcesses: 64, timeoutS: 20 },
    check: (r) => killedFor(r, 'process limit 64 reached (fork refused)'),
  },
  {
    name: 'python os.fork loop hits the process limit',
    levels: BOTH,
    code: () => 'import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n',
    policy: { maxProcesses: 32, timeoutS: 20 },
    check: (r) => killedFor(r, 'process limit 32 reached (fork refused)'),
  },
  {
    name: 'python memory bomb is killed at the memory limit',
    levels: BOTH,
    code: () => 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))\n',
    policy: { memoryMb: 128, timeoutS: 30 },
    check: (r) => {
      killedFor(r, 'memory limit 128 MB exceeded');
      expect(r.peak_memory_mb).toBeGreaterThan(100);
      expect(r.peak_memory_mb).toBeLessThanOrEqual(129);
    },
  },
  {
    name: 'C memory bomb (compiled with gcc in the run) is killed at the memory limit',
    levels: BOTH,
    language: 'bash',
    code: () => `set -e
cat > bomb.c <<'EOF'
#include <stdlib.h>
#include <string.h>
int main(void) { for (;;) { char *p = malloc(1 << 24); if (!p) return 3; memset(p, 1, 1 << 24); } }
EOF
gcc -O0 -o bomb bomb.c
./bomb`,
    policy: { memoryMb: 200, timeoutS: 60 },
    check: (r) => killedFor(r, 'memory limit 200 MB exceeded'),
  },
  {
    name: 'infinite loop ends at the timeout',
    levels: BOTH,
    code: () => 'while True:\n    pass\n',
    policy: { timeoutS: 1 },
    check: (r) => {
      expect(r.status).toBe('timeout');
      expect(r.error?.message).toBe('timed out after 1 s');
      expect(r.duration_ms).toBeLessThan(4000);
    },
  },
  {
    name: 'CPU burn is killed at cpu_s',
    levels: BOTH,
    code: () => 'while True:\n    pass\n',
    policy: { cpuS: 1, timeoutS: 30 },
    check: (r) => {
      killedFor(r, 'CPU time limit 1 s exceeded');
      expect(r.duration_ms).toBeLessThan(6000);
    },
  },
  {
    name: 'CPU burn spread over 4 processes is killed at cpu_s for the whole tree',
    levels: BOTH,
    code: () => 'import os\nfor _ in range(3):\n    if os.fork() == 0:\n        break\nwhile True:\n    pass\n',
    policy: { cpuS: 2, timeoutS: 30 },
    check: (r) => {
      killedFor(r, 'CPU time limit 2 s exceeded');
      // 4 burners on a shared machine: well before 4 × 2 s of wall time would be needed per process.
      expect(r.cpu_ms).toBeLessThan(4000);
    },
  },
  {
    name: 'a child ignoring SIGTERM does not outlive the run',
    levels: BOTH,
    code: () => 'import os, signal, time\nif os.fork() == 0:\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    time.sleep(1000)\nprint("parent done")\n',
    check: (r) => {
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('parent done\n');
    },
  },
  {
    name: 'a setsid + double fork daemon does not outlive the run',
    levels: BOTH,
    code: () =>
      'import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.closerange(0, 3)\n        time.sleep(1000)\n    os._exit(0)\nos.wait()\nprint("daemonized")\n',
    check: (r) => {
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('daemonized\n');
    },
  },
  {
    name: 'writing 5 GB to a file is killed at the file size limit',
    levels: BOTH,
    language: 'bash',
    code: () => 'dd if=/dev/zero of=big.bin bs=1M count=5120 status=none',
    policy: { maxFileMb: 10, timeoutS: 60 },
    check: (r) => killedFor(r, 'file size limit 10 MB exceeded'),
  },
  {
    name: 'python writing 5 GB gets "File too large" at the file size limit (python ignores SIGXFSZ)',
    levels: BOTH,
    code: () => 'import os\nchunk = b"x" * (1 << 20)\nwith open("big.bin", "wb") as f:\n    for _ in range(5120):\n        f.write(chunk)\n',
    policy: { maxFileMb: 8, timeoutS: 60 },
    check: (r) => {
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('OSError');
      expect(r.error?.message).toContain('File too large');
    },
  },
  {
    name: '1 GB of stdout comes back as head + tail with the whole size counted',
    levels: ISOLATED,
    code: () => 'import sys\nline = b"y" * 1023 + b"\\n"\nw = sys.stdout.buffer.write\nfor _ in range(1 << 20):\n    w(line)\n',
    policy: { timeoutS: 120 },
    check: (r) => {
      expect(r.status).toBe('ok');
      expect(r.truncated?.stdout_bytes).toBe(1 << 30);
      expect(r.stdout.length).toBeLessThan(25_000);
    },
  },
  {
    name: 'a secret file outside the working directory cannot be read',
    levels: ISOLATED,
    code: (c) => `import os\nprint(os.path.exists(${JSON.stringify(c.secretFile)}), os.path.exists(${JSON.stringify(path.dirname(c.secretFile))}))\nopen(${JSON.stringify(c.secretFile)}).read()\n`,
    check: (r) => {
      expect(r.stdout).toBe('False False\n');
      expect(r.error?.name).toBe('FileNotFoundError');
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    },
  },
  {
    name: 'writing to /etc fails (read-only system)',
    levels: ISOLATED,
    code: (c) => `open("/etc/hangar-pwned-${c.marker}", "w").write("x")\n`,
    check: (r, c) => {
      expect(r.status).toBe('error');
      expect(r.error?.name).toMatch(/^(OSError|PermissionError)$/);
      expect(existsSync(`/etc/hangar-pwned-${c.marker}`)).toBe(false);
    },
  },
  {
    name: 'writing to /usr fails (read-only system)',
    levels: ISOLATED,
    language: 'bash',
    code: (c) => `touch /usr/bin/hangar-pwned-${c.marker}`,
    check: (r, c) => {
      expect(r.status).toBe('error');
      expect(r.stderr).toMatch(/Read-only file system|Permission denied/);
      expect(existsSync(`/usr/bin/hangar-pwned-${c.marker}`)).toBe(false);
    },
  },
  {
    name: "writing to the host's $HOME fails (no host home inside)",
    levels: ISOLATED,
    code: (c) => `import os\nprint(os.path.exists(${JSON.stringify(c.home)}))\nopen(${JSON.stringify(path.join(c.home, `hangar-pwned-${c.marker}`))}, "w").write("x")\n`,
    check: (r, c) => {
      expect(r.stdout).toBe('False\n');
      expect(r.error?.name).toBe('FileNotFoundError');
      expect(existsSync(path.join(c.home, `hangar-pwned-${c.marker}`))).toBe(false);
    },
  },
  {
    name: 'writing to the data directory fails (only the run dir is mounted)',
    levels: ISOLATED,
    code: (c) => `import os\nprint(os.path.exists(${JSON.stringify(c.dataDir)}))\nopen(${JSON.stringify(path.join(c.dataDir, 'audit.log'))}, "a").write("forged")\n`,
    check: (r) => {
      expect(r.stdout).toBe('False\n');
      expect(r.error?.name).toBe('FileNotFoundError');
    },
  },
  {
    name: "no command line in the sandbox shows bubblewrap's options (host directories it binds, the environment it sets)",
    levels: ISOLATED,
    code: () => `import os\nlines = []\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n        try:\n            lines.append(open('/proc/%s/cmdline' % p, 'rb').read().replace(b'\\0', b' ').decode())\n        except OSError:\n            pass\nprint('\\n'.join(sorted(lines)))\n`,
    check: (r, c) => {
      expect(r.status, r.stderr).toBe('ok');
      // pid 1 is bubblewrap's own init: it shows only where its options came from.
      expect(r.stdout).toMatch(/^\S*bwrap --args 9 -- /m);
      for (const leak of ['--bind', '--ro-bind', '--setenv', path.join(c.dataDir, 'scratch')]) expect(r.stdout).not.toContain(leak);
    },
  },
  {
    name: 'TCP to a server on 127.0.0.1 is refused with network off',
    levels: ISOLATED,
    code: (c) => `import socket\nsocket.create_connection(("127.0.0.1", ${c.tcpPort}), timeout=3)\n`,
    check: (r) => {
      expect(r.error?.name).toBe('ConnectionRefusedError');
      expect(r.sandbox.network).toBe('off');
    },
  },
  {
    name: 'TCP to the same server connects with network on (the control: the probe can succeed)',
    levels: ISOLATED,
    code: (c) => `import socket\ns = socket.create_connection(("127.0.0.1", ${c.tcpPort}), timeout=3)\nprint(s.recv(5).decode())\n`,
    policy: { network: 'on' },
    check: (r) => {
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('hello\n');
      expect(r.sandbox.network).toBe('on');
    },
  },
  {
    name: 'DNS lookup fails with network off',
    levels: ISOLATED,
    code: () => 'import socket\nsocket.getaddrinfo("example.com", 443)\n',
    check: (r) => {
      expect(r.status).toBe('error');
      expect(r.stderr).toMatch(/socket\.gaierror: \[Errno -\d+\]/);
    },
  },
  {
    name: '`kill -9 -1` only reaches the sandbox',
    levels: ISOLATED,
    language: 'bash',
    code: () => 'kill -9 -1; echo survived',
    check: (r) => {
      // kill(-1) spares the caller and the namespace's init (bubblewrap); the server and the test's
      // sentinel process live on (checked after each case).
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('survived\n');
    },
  },
  {
    name: "killing the server's pid fails: it is not in the sandbox's pid namespace",
    levels: ISOLATED,
    code: (c) => `import os\nos.kill(${c.serverPid}, 9)\n`,
    check: (r) => {
      expect(r.error?.name).toBe('ProcessLookupError');
    },
  },
  {
    name: 'ptrace of the server fails',
    levels: ISOLATED,
    code: (c) =>
      `import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nrc = libc.ptrace(16, ${c.serverPid}, None, None)\nprint(rc, os.strerror(ctypes.get_errno()))\nprint(os.path.exists("/proc/${c.serverPid}/mem"))\n`,
    check: (r) => {
      expect(r.stdout).toBe('-1 No such process\nFalse\n');
    },
  },
  {
    name: 'deep Python recursion (frames on the heap) is killed at the memory limit',
    levels: BOTH,
    code: () => 'import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n',
    policy: { memoryMb: 256, timeoutS: 30 },
    check: (r) => killedFor(r, 'memory limit 256 MB exceeded'),
  },
  {
    name: 'deep C recursion overflows the 8 MB stack and crashes only the program',
    levels: BOTH,
    language: 'bash',
    code: () => `set -e
printf 'int f(int n) { volatile char b[1024]; b[0] = (char)n; return f(n + 1) + b[0]; }\\nint main(void) { return f(0); }\\n' > rec.c
gcc -O0 -o rec rec.c
exec ./rec`,
    policy: { timeoutS: 60 },
    check: (r) => {
      expect(r.status, r.stderr).toBe('error');
      expect(r.signal).toBe('SIGSEGV');
    },
  },
  {
    name: 'a zip bomb extracted to disk stops at the file size limit',
    levels: BOTH,
    code: () => `import zipfile
with zipfile.ZipFile("/tmp/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.bin", "w", force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(200):
            f.write(block)
zipfile.ZipFile("/tmp/bomb.zip").extractall("out")
`,
    policy: { maxFileMb: 20, timeoutS: 60 },
    check: (r) => {
      expect(r.status).toBe('error');
      expect(r.error?.message).toContain('File too large');
    },
  },
  {
    name: 'a symlink from the working directory to / shows only the sandbox',
    levels: ISOLATED,
    code: (c) => `import os\nos.symlink("/", "root")\nprint(sorted(os.listdir("root")))\nprint(os.path.exists("root" + ${JSON.stringify(c.secretFile)}))\n`,
    check: (r) => {
      expect(r.stdout).toBe("['bin', 'build', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'source', 'tmp', 'usr', 'workspace']\nFalse\n");
    },
  },
  {
    name: 'cleanup does not follow a symlink the run leaves to the outside',
    levels: BOTH,
    code: (c) => `import os\nos.symlink(${JSON.stringify(path.dirname(c.secretFile))}, "secrets")\nos.symlink("/", "root")\n`,
    check: async (r, c) => {
      expect(r.status).toBe('ok');
      expect(await readFile(c.secretFile, 'utf8')).toBe(SECRET);
    },
  },
  {
    name: 'the auth token is in no environment the run can read',
    levels: ISOLATED,
    code: () => `import os
found = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for name in ("environ", "cmdline"):
            try:
                if b"${TOKEN}" in open(f"/proc/{pid}/{name}", "rb").read():
                    found.append((pid, name))
            except OSError:
                pass
print(found, b"HANGAR" in open("/proc/self/environ", "rb").read())
`,
    check: (r) => {
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('[] False\n');
    },
  },
  {
    name: "the auth token is not in the run's own environment",
    levels: ['process'],
    code: () => `print(b"${TOKEN}" in open("/proc/self/environ", "rb").read(), b"HANGAR" in open("/proc/self/environ", "rb").read())\n`,
    check: (r) => {
      expect(r.stdout).toBe('False False\n');
    },
  },
  {
    name: 'opening 100,000 files stops at the open-files limit',
    levels: BOTH,
    code: () => 'files = []\nfor i in range(100_000):\n    files.append(open(f"f{i}", "w"))\n',
    policy: { timeoutS: 60 },
    check: (r) => {
      expect(r.status).toBe('error');
      expect(r.error?.message).toContain('Too many open files');
    },
  },
  {
    name: 'sleeping past the timeout in many threads ends at the timeout',
    levels: BOTH,
    code: () => 'import threading, time\nts = [threading.Thread(target=time.sleep, args=(1000,)) for _ in range(100)]\nfor t in ts:\n    t.start()\nfor t in ts:\n    t.join()\n',
    policy: { timeoutS: 1 },
    check: (r) => {
      expect(r.status).toBe('timeout');
      expect(r.duration_ms).toBeLessThan(4000);
    },
  },
  {
    name: 'a thread bomb hits the process limit',
    levels: BOTH,
    code: () => 'import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n',
    policy: { maxProcesses: 50, timeoutS: 20 },
    check: (r) => killedFor(r, 'process limit 50 reached (fork refused)'),
  },
  {
    name: 'new user namespaces are refused inside (no nested sandbox games)',
    levels: ISOLATED,
    language: 'bash',
    code: () => 'unshare -r -n true && echo escaped',
    check: (r) => {
      expect(r.status).toBe('error');
      expect(r.stdout).toBe('');
    },
  },
  {
    name: 'filling the private /tmp stops at its size',
    levels: ISOLATED,
    language: 'bash',
    code: () => 'dd if=/dev/zero of=/tmp/fill bs=1M count=700 status=none; echo "rc=$?"; du -m /tmp/fill | cut -f1',
    policy: { timeoutS: 60 },
    check: (r) => {
      expect(r.stderr).toContain('No space left on device');
      // The default private /tmp: 512 MB.
      expect(r.stdout).toMatch(/^rc=1\n(51[0-2]|50\d)\n$/);
    },
  },
  {
    name: 'runs as an unprivileged uid with no capabilities, without /sys or /root',
    levels: ISOLATED,
    code: () => 'import os\nprint(os.getuid(), os.getgid(), open("/proc/self/status").read().split("CapEff:")[1].split()[0], os.path.exists("/sys/kernel"), os.path.exists("/root"))\n',
    check: (r) => {
      expect(r.stdout).toBe('65534 65534 0000000000000000 False False\n');
      expect(r.sandbox.level).toBe('isolated');
    },
  },
];

/** A program that does nothing, per language: two runs of it make the case's shape warm. */
const NOOP: Record<string, string> = { python: 'pass', bash: 'true', sh: 'true', javascript: '0', ruby: 'nil', perl: '1;' };

describe.each([
  ['isolated', 'cold'],
  ['process', 'cold'],
  ['isolated', 'warm'],
] as const)('hostile battery at level %s, %s', (level, start) => {
  const cases = CASES.filter((c) => c.levels.includes(level));
  const skip = level === 'isolated' && !isolation.available;
  const warm = start === 'warm';
  let runtime: Runtime;
  let root: string;
  let ctx: Omit<Ctx, 'marker'>;
  let tcp: Server;
  let sentinel: ChildProcess;
  let dataFingerprint: () => Promise<string>;

  beforeAll(async () => {
    if (skip) return;
    root = await tempDir('hangar-hostile-');
    const dataDir = path.join(root, 'data');
    const secretDir = path.join(root, 'secret');
    await mkdir(secretDir);
    await writeFile(path.join(secretDir, 'secret.txt'), SECRET);
    tcp = createServer((socket) => socket.end('hello'));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const address = tcp.address();
    sentinel = spawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
    runtime = await createRuntime(ConfigSchema.parse({ dataDir, logLevel: 'silent', sandbox: level }), {
      hostEnv: { PATH: '/usr/bin:/bin', HANGAR_AUTH_TOKEN: TOKEN },
    });
    ctx = {
      secretFile: path.join(secretDir, 'secret.txt'),
      dataDir,
      tcpPort: typeof address === 'object' && address ? address.port : 0,
      serverPid: process.pid,
      home: process.env.HOME ?? '/root',
    };
    // The data directory may only change in scratch/ (run dirs), content/ (offloaded output) and the audit log.
    dataFingerprint = () => treeFingerprint(dataDir, (rel) => /^(scratch|content)(\/|$)/.test(rel));
  });

  afterAll(async () => {
    if (skip) return;
    await runtime.close();
    sentinel.kill('SIGKILL');
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  });

  it.skipIf(skip).each(cases)('$name', async (c) => {
    const marker = `hangar-hostile-${randomBytes(6).toString('hex')}`;
    const full: Ctx = { ...ctx, marker };
    const language = c.language ?? 'python';
    const noop = NOOP[language];
    if (warm && noop !== undefined) {
      // The same shape twice: the case then runs in a standby launched ahead (standby-pool.ts).
      for (let i = 0; i < 2; i++) await runtime.exec.runCode({ language, code: noop, args: [marker], policy: c.policy });
      await until(() => runtime.exec.standbyCount > 0);
    }
    const dataBefore = await dataFingerprint();
    const result = await runtime.exec.runCode({ language, code: c.code(full), args: [marker], policy: c.policy });
    expect(result.sandbox.level).toBe(level);
    await c.check(result, full);
    if (warm) {
      // The standby launched for the shape's next run carries the marker too: end it before looking.
      await new Promise((resolve) => setImmediate(resolve));
      await until(() => runtime.exec.standbyCount > 0 || noop === undefined);
      await runtime.exec.endStandbys();
    }
    // Containment held: nothing of the run is alive, its groups are gone, nothing outside changed.
    expect(await leftoversAfter(marker)).toEqual([]);
    expect(await leftoverCgroups(runtime.cgroups.roots)).toEqual([]);
    expect(await readFile(ctx.secretFile, 'utf8')).toBe(SECRET);
    expect(await dataFingerprint()).toBe(dataBefore);
    expect(sentinel.exitCode).toBeNull();
    expect(sentinel.signalCode).toBeNull();
  });
});
