import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Files of src/drivers/ (run inside sandboxes, shipped as is, not compiled): found beside the
 * sources when running from src/ (tests), or at ../src/drivers from dist/ (the built package).
 */
export function driverPath(name: string): string {
  for (const relative of [`../drivers/${name}`, `../../src/drivers/${name}`]) {
    const file = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new Error(`driver ${name} is missing from this installation (expected in src/drivers/)`);
}
