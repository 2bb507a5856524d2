import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Interpreter } from './interpreters.js';

/**
 * Creates a venv by hand: the exact layout `python -m venv --without-pip --symlinks` writes on
 * POSIX (pyvenv.cfg, bin/python* symlinks to the base binary, lib/pythonX.Y/site-packages, the
 * lib64 → lib link), minus the activate scripts, in about a millisecond instead of an interpreter
 * start plus the venv module (~50 ms idle, several hundred under load). The caller verifies the
 * result by starting the new interpreter once, and falls back to `-m venv` if it is not a venv.
 */
export async function writeVenvLayout(envPath: string, base: Interpreter, systemSitePackages: boolean): Promise<void> {
  const [major, minor] = base.version.split('.');
  const short = `python${major}.${minor}`;
  const bin = path.join(envPath, 'bin');
  await Promise.all([
    mkdir(bin, { recursive: true }),
    mkdir(path.join(envPath, 'include'), { recursive: true }),
    mkdir(path.join(envPath, 'lib', short, 'site-packages'), { recursive: true }),
  ]);
  const cfg = [
    `home = ${path.dirname(base.path)}`,
    `include-system-site-packages = ${systemSitePackages ? 'true' : 'false'}`,
    `version = ${base.version}`,
    `executable = ${base.path}`,
    `command = ${base.path} -m venv --without-pip${systemSitePackages ? ' --system-site-packages' : ''} ${envPath}`,
    '',
  ].join('\n');
  await Promise.all([
    writeFile(path.join(envPath, 'pyvenv.cfg'), cfg),
    symlink('lib', path.join(envPath, 'lib64')),
    symlink(base.path, path.join(bin, 'python')),
    symlink('python', path.join(bin, 'python3')),
    symlink('python', path.join(bin, short)),
  ]);
}

/** Starts the environment's python once: it must see itself as a venv of the expected version. */
export function verifyVenv(envPath: string, expectedVersion: string): Promise<boolean> {
  const python = path.join(envPath, 'bin', 'python');
  const code = "import sys; print(sys.prefix != sys.base_prefix, '%d.%d.%d' % sys.version_info[:3])";
  return new Promise((resolve) => {
    execFile(python, ['-I', '-c', code], { timeout: 15_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } }, (error, stdout) => {
      const [isVenv, version] = stdout.trim().split(' ');
      resolve(!error && isVenv === 'True' && version === expectedVersion);
    });
  });
}
