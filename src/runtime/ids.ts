import { randomBytes } from 'node:crypto';

/** Short, URL-safe, unique ids with a readable prefix (DESIGN.md section 3), e.g. `ref_4f9c2a1b`. */
export function newId(prefix: string, bytes = 5): string {
  return `${prefix}_${randomBytes(bytes).toString('hex')}`;
}

const ID_PATTERN = /^[a-z]+_[0-9a-f]{6,32}$/;

/** True for ids this module could have made: safe to use as a path component. */
export function isWellFormedId(id: string): boolean {
  return ID_PATTERN.test(id);
}
