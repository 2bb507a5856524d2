import type { LanguageEntry } from '../languages/table.js';
import { stripTypes, type StripResult } from '../languages/typescript.js';

/** The file name a snippet is written to (Java derives it from the public class). */
export function sourceFileName(entry: LanguageEntry, code: string): string {
  return typeof entry.sourceFile === 'string' ? entry.sourceFile : entry.sourceFile(code);
}

/** The text written to the source file: rewritten (PHP's open tag) or types stripped (TypeScript). */
export async function prepareSource(entry: LanguageEntry, code: string): Promise<StripResult> {
  const text = entry.rewrite ? entry.rewrite(code) : code;
  if (entry.transform === 'typescript') return stripTypes(text);
  return { ok: true, code: text };
}
