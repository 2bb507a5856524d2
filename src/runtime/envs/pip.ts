import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { HangarError } from '../errors.js';
import { compareVersions } from './interpreters.js';

/**
 * The one shared pip that drives installs into every environment (environments are made without
 * their own pip: that is what makes creation take milliseconds).
 *
 * Which pip: a pip *wheel* is self-contained (its dependencies are vendored), so we take the one
 * the interpreter ships for ensurepip (`lib/python3.X/ensurepip/_bundled/pip-*.whl`, made for that
 * Python), else the newest one the system ships in /usr/share/python-wheels (Debian's
 * python3-pip-whl, pulled in by python3-venv). The wheel is unpacked once into the data
 * directory's cache, so its modules get compiled .pyc files (running pip straight from the zip
 * recompiles pip on every call: seconds), and pip then runs *inside the environment's own
 * interpreter* as `<env python> <cache>/pip install …`. That is what `pip --python` does
 * internally, minus one extra interpreter start, so an install costs what a plain `pip install`
 * inside a venv costs.
 */
export interface PipLocation {
  version: string;
  /** Directory holding the `pip` package (run as `<python> <dir>/pip`). */
  dir: string;
  wheel: string;
}

const SYSTEM_WHEEL_DIRS = ['/usr/share/python-wheels', '/usr/local/share/python-wheels'];
const WHEEL_NAME = /^pip-(\d+(?:\.\d+)*)-py3-none-any\.whl$/;

async function wheelsIn(dir: string): Promise<Array<{ file: string; version: string }>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Array<{ file: string; version: string }> = [];
  for (const name of names) {
    const match = WHEEL_NAME.exec(name);
    if (match?.[1]) out.push({ file: path.join(dir, name), version: match[1] });
  }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export class PipProvider {
  private readonly unpacked = new Map<string, Promise<PipLocation>>();

  constructor(private readonly cacheDir: string) {}

  /** The pip for environments made from `basePython` (a real interpreter path, "X.Y.Z" version). */
  async forInterpreter(basePython: string, version: string): Promise<PipLocation> {
    const [major, minor] = version.split('.');
    const prefix = path.dirname(path.dirname(basePython));
    const bundled = await wheelsIn(path.join(prefix, 'lib', `python${major}.${minor}`, 'ensurepip', '_bundled'));
    const system = (await Promise.all(SYSTEM_WHEEL_DIRS.map(wheelsIn))).flat();
    const chosen = bundled[0] ?? system.sort((a, b) => compareVersions(b.version, a.version))[0];
    if (!chosen) {
      throw new HangarError(
        'INSTALL_FAILED',
        `no pip wheel was found for Python ${version} (looked in ${prefix}/lib/python${major}.${minor}/ensurepip/_bundled and ${SYSTEM_WHEEL_DIRS.join(', ')}); ` +
          'the operator should install python3-venv (Debian/Ubuntu: apt-get install python3-venv python3-pip-whl)',
      );
    }
    let pending = this.unpacked.get(chosen.file);
    if (!pending) {
      pending = this.unpack(chosen.file, chosen.version, basePython);
      this.unpacked.set(chosen.file, pending);
      pending.catch(() => this.unpacked.delete(chosen.file));
    }
    return pending;
  }

  private async unpack(wheel: string, version: string, python: string): Promise<PipLocation> {
    const dir = path.join(this.cacheDir, path.basename(wheel, '.whl'));
    if (await exists(path.join(dir, 'pip', '__main__.py'))) return { version, dir, wheel };
    // Unpack beside the target and rename: a crash or a concurrent server never leaves half a pip.
    const temp = `${dir}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await new Promise<void>((resolve, reject) => {
        execFile(python, ['-I', '-m', 'zipfile', '-e', wheel, temp], { timeout: 60_000 }, (error, _out, stderr) => {
          if (error) reject(new HangarError('INSTALL_FAILED', `could not unpack ${wheel}: ${stderr.trim() || error.message}`));
          else resolve();
        });
      });
      await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
        // Another server unpacked it first: theirs is as good as ours.
        if (!(await exists(path.join(dir, 'pip', '__main__.py')))) throw error;
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return { version, dir, wheel };
  }
}

/** Options every pip invocation of ours carries: quiet about itself, never waiting for a human. */
export const PIP_COMMON = ['--disable-pip-version-check', '--no-input', '--no-color'];
