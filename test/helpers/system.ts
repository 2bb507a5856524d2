import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether a Debian package a suite needs is present (scripts/ensure-system-deps.mjs records what
 * is missing). On CI a missing package is a failure, never a skip; elsewhere the suite skips with a
 * loud notice naming the apt-get line.
 */
const stateFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.hangar-test/missing-packages.json');

function missingPackages(): string[] {
  if (!existsSync(stateFile)) return [];
  return (JSON.parse(readFileSync(stateFile, 'utf8')) as { missing: string[] }).missing;
}

/** Returns true when the suite can run; throws on CI when it cannot. */
export function systemPackagesPresent(...names: string[]): boolean {
  const missing = names.filter((name) => missingPackages().includes(name));
  if (missing.length === 0) return true;
  const message = `missing system packages ${missing.join(', ')}: sudo apt-get install -y ${missing.join(' ')}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI must install them: see scripts/ensure-system-deps.mjs)`);
  process.stderr.write(`\n*** SKIPPING: ${message}\n`);
  return false;
}
