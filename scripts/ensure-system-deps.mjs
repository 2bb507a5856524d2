#!/usr/bin/env node
// Makes sure the Debian packages the test suites need are installed (scripts/system-packages.json).
// As root it installs what is missing with apt-get; otherwise it prints the exact apt-get line and
// records the missing packages, so that the suites needing them skip with a loud notice.
// On CI (CI=true) a package that cannot be installed fails the run: nothing skips there.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { packages } = JSON.parse(readFileSync(new URL('scripts/system-packages.json', root), 'utf8'));
const names = Object.keys(packages);
const onCi = process.env.CI === 'true';
const stateDir = new URL('.hangar-test/', root);
const stateFile = new URL('missing-packages.json', stateDir);

function installed(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

function record(missing) {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify({ missing }, null, 2)}\n`);
}

const hasDpkg = spawnSync('dpkg-query', ['--version']).status === 0;
if (!hasDpkg) {
  const message = `ensure-system-deps: this is not a Debian-like system; make sure these are installed: ${names.join(', ')}`;
  if (onCi) {
    console.error(message);
    process.exit(1);
  }
  console.warn(`\n*** ${message}\n`);
  record([]);
  process.exit(0);
}

let missing = names.filter((name) => !installed(name));
if (missing.length > 0 && process.getuid?.() === 0) {
  console.log(`ensure-system-deps: installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  } catch (error) {
    console.error(`ensure-system-deps: apt-get failed: ${error.message}`);
  }
  missing = missing.filter((name) => !installed(name));
}

record(missing);
if (missing.length === 0) {
  console.log(`ensure-system-deps: all ${names.length} system packages present`);
  process.exit(0);
}
const line = `sudo apt-get install -y ${missing.join(' ')}`;
if (onCi) {
  console.error(`ensure-system-deps: missing on CI: ${missing.join(', ')} (${line})`);
  process.exit(1);
}
console.warn(`\n*** ensure-system-deps: missing ${missing.join(', ')}.\n*** Suites that need them will SKIP. Install with:\n***   ${line}\n`);
