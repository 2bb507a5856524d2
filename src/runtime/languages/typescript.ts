import type { Message } from 'esbuild';

/**
 * TypeScript runs as JavaScript with its types stripped, never type-checked: esbuild's transform
 * (docs/decisions/0001-typescript-stripping.md). esbuild works in its own service process, so a
 * hostile or huge source cannot stall the server's event loop, and it accepts all of TypeScript's
 * syntax (enums, namespaces, parameter properties, decorators).
 */
export type StripResult = { ok: true; code: string } | { ok: false; message: string };

function formatMessage(file: string, message: Message): string {
  const where = message.location ? `${file}:${message.location.line}:${message.location.column + 1}: ` : `${file}: `;
  const line = message.location?.lineText ? `\n    ${message.location.lineText}` : '';
  return `${where}error: ${message.text}${line}`;
}

export async function stripTypes(code: string, file = 'main.ts'): Promise<StripResult> {
  try {
    // Loaded on first use: esbuild is not needed until a TypeScript run (server start-up is a target).
    const { transform } = await import('esbuild');
    const result = await transform(code, { loader: 'ts', sourcefile: file, sourcemap: 'inline', target: 'node20', logLevel: 'silent' });
    return { ok: true, code: result.code };
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) return { ok: false, message: `${errors.map((m) => formatMessage(file, m)).join('\n')}\n` };
    return { ok: false, message: `${file}: error: ${error instanceof Error ? error.message : String(error)}\n` };
  }
}
