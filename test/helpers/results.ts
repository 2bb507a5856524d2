import { expect } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';

/** The execution result of DESIGN.md section 4, as a test reads it. */
export interface Exec {
  status: 'ok' | 'error' | 'timeout' | 'killed' | 'cancelled';
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: null | { stdout_bytes: number; stderr_bytes: number; ref_id: string; stdout_ref_id: string | null; stderr_ref_id: string | null };
  error: null | { name: string; message: string; traceback: string | null };
  duration_ms: number;
  cpu_ms: number | null;
  peak_memory_mb: number | null;
  warnings: string[];
}

export interface CallOutcome {
  isError: boolean;
  text: string;
  structured: Record<string, unknown> | undefined;
}

export async function call(client: Client, name: string, args: Record<string, unknown>, options: { signal?: AbortSignal; timeout?: number } = {}): Promise<CallOutcome> {
  const result = await client.callTool({ name, arguments: args }, options);
  const text = (result.content as { type: string; text?: string }[])
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('\n');
  return { isError: result.isError === true, text, structured: result.structuredContent as Record<string, unknown> | undefined };
}

/** Calls a tool that must succeed as a call (the program itself may fail) and returns its result. */
export async function exec(client: Client, args: Record<string, unknown>, tool = 'run_code', options: { signal?: AbortSignal; timeout?: number } = {}): Promise<Exec> {
  const outcome = await call(client, tool, args, options);
  expect(outcome.isError, outcome.text).toBe(false);
  return outcome.structured as unknown as Exec;
}

/** Calls a tool that must fail as a call, with `code`; returns the error text. */
export async function expectToolError(client: Client, name: string, args: unknown, code: string): Promise<string> {
  const result = await client.callTool({ name, arguments: args as Record<string, unknown> });
  const text = (result.content as { type: string; text?: string }[]).map((b) => b.text ?? '').join('\n');
  expect(result.isError, text).toBe(true);
  expect(text.startsWith(`${code}: `), text.slice(0, 300)).toBe(true);
  return text;
}
