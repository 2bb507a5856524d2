import type { z } from 'zod';
import type { Runtime } from '../runtime/runtime.js';

/**
 * Tools are data (DESIGN.md section 2): a name, words for the agent, input and output schemas,
 * annotations, and a handler that uses only the runtime's public API. The server layer turns
 * these into MCP tools; nothing here knows MCP.
 */
export const TOOLSETS = ['environments', 'execution', 'repl', 'workspace', 'processes', 'analysis', 'jupyter', 'gateway'] as const;
export type Toolset = (typeof TOOLSETS)[number];
export const CORE_TOOLSETS: readonly Toolset[] = ['environments', 'execution', 'repl', 'workspace', 'processes'];

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Content blocks a tool returns beside its structured result. */
export type ReplyBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string }
  | { type: 'resource_link'; uri: string; name: string; mimeType?: string; description?: string };

export interface ToolContext {
  runtime: Runtime;
  /** Fires when the client cancels the call or the server shuts down: stop the work. */
  signal: AbortSignal;
  /** MCP progress notification (no-op when the client asked for none). */
  progress(progress: number, total?: number, message?: string): void;
}

export interface ToolReply<O> {
  structured: O;
  /** What the agent reads; defaults to the structured result as JSON. */
  blocks?: ReplyBlock[];
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  handle(args: z.output<I>, ctx: ToolContext): Promise<ToolReply<z.output<O>>>;
}

/** Identity at run time; at compile time it ties the handler's types to the schemas. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(definition: ToolDefinition<I, O>): ToolDefinition {
  return definition as unknown as ToolDefinition;
}

export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
/** Runs user code: may change files in its working directory, does not destroy Hangar state. */
export const RUNS_CODE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
