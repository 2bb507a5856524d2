import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeError, HangarError, isHangarError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { summarizeArgs } from '../runtime/store/audit.js';
import type { ReplyBlock, ToolDefinition } from '../tools/define.js';
import { ALL_TOOLS } from '../tools/index.js';

/**
 * Turns tool definitions into MCP tools: JSON schemas made once at start (not per request), input
 * validated with the tool's own zod schema so a bad argument is an `INVALID_ARGUMENT` tool result
 * that names the field, errors rendered as `CODE: message`, one audit line per call.
 */
type ObjectSchema = { type: 'object'; [key: string]: unknown };

export interface ListedTool {
  name: string;
  title: string;
  description: string;
  inputSchema: ObjectSchema;
  outputSchema: ObjectSchema;
  annotations: ToolDefinition['annotations'] & { title: string };
}

export interface CallResult {
  [key: string]: unknown;
  content: ReplyBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface CallContext {
  signal: AbortSignal;
  progress(progress: number, total?: number, message?: string): void;
}

function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): ObjectSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return { ...out, type: 'object' };
}

export type ToolJsonSchemas = Record<string, { input: ObjectSchema; output: ObjectSchema }>;

/** The JSON schemas of tools, by name: what `npm run build` writes to dist/tool-schemas.json. */
export function toolJsonSchemas(tools: readonly ToolDefinition[]): ToolJsonSchemas {
  return Object.fromEntries(tools.map((tool) => [tool.name, { input: jsonSchema(tool.input, 'input'), output: jsonSchema(tool.output, 'output') }]));
}

/**
 * The built tools' JSON schemas, made at build time: converting ~80 zod schemas was a third of a
 * server's start-up (BENCHMARKS.md). Absent when running from the sources (then they are made here).
 */
function precomputedSchemas(): ToolJsonSchemas {
  try {
    return JSON.parse(readFileSync(new URL('../tool-schemas.json', import.meta.url), 'utf8')) as ToolJsonSchemas;
  } catch {
    return {};
  }
}

/** A caller's key as it may appear in an error: control characters (NUL …) escaped, length cut. */
function printableKey(key: PropertyKey): string {
  const shown = String(key).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? issue.path.map(printableKey).join('.') : 'arguments';
  // A bad record key (a file path): say what is wrong with it, not only that it is invalid.
  if (issue.code === 'invalid_key') return `${where}: ${issue.issues[0]?.message ?? issue.message}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where} is required`;
  if (issue.code === 'unrecognized_keys') return `unknown argument${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${printableKey(k)}"`).join(', ')}`;
  return `${where}: ${issue.message}`;
}

export class ToolHost {
  readonly listed: ListedTool[];
  private readonly byName: Map<string, ToolDefinition>;
  /** Strict copies of the input schemas: an unknown argument is a mistake worth naming. */
  private readonly strictInputs = new Map<string, z.ZodObject>();

  constructor(
    private readonly runtime: () => Promise<Runtime>,
    tools: readonly ToolDefinition[],
  ) {
    this.byName = new Map(tools.map((t) => [t.name, t]));
    // Only the built-in definitions themselves may use the build's schemas: a tool made elsewhere
    // (a test, a benchmark) with a built-in's name has its own.
    const builtIn = new Set<ToolDefinition>(ALL_TOOLS);
    const built = tools.some((t) => builtIn.has(t)) ? precomputedSchemas() : {};
    this.listed = tools.map((tool) => {
      const ready = builtIn.has(tool) ? built[tool.name] : undefined;
      return {
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: ready?.input ?? jsonSchema(tool.input, 'input'),
        outputSchema: ready?.output ?? jsonSchema(tool.output, 'output'),
        annotations: { title: tool.title, ...tool.annotations },
      };
    });
  }

  /** The strict copy of a tool's input schema, made on its first call (not all at start). */
  private strictInput(tool: ToolDefinition): z.ZodObject {
    let strict = this.strictInputs.get(tool.name);
    if (!strict) {
      strict = tool.input.strict();
      this.strictInputs.set(tool.name, strict);
    }
    return strict;
  }

  outputSchemaOf(name: string): ObjectSchema | undefined {
    return this.listed.find((t) => t.name === name)?.outputSchema;
  }

  async call(name: string, rawArgs: unknown, ctx: CallContext): Promise<CallResult> {
    const started = performance.now();
    const runtime = await this.runtime();
    const audit = (status: 'ok' | 'error', code?: string): void =>
      runtime.audit.record({
        time: new Date().toISOString(),
        tool: name.slice(0, 64),
        args: summarizeArgs(rawArgs),
        status,
        ...(code ? { code } : {}),
        ms: Math.round((performance.now() - started) * 100) / 100,
      });
    try {
      const tool = this.byName.get(name);
      if (!tool) {
        throw new HangarError('UNKNOWN_TOOL', `no tool named "${name.slice(0, 64)}"; available: ${[...this.byName.keys()].join(', ')}`);
      }
      const parsed = this.strictInput(tool).safeParse(rawArgs ?? {});
      if (!parsed.success) {
        const messages = parsed.error.issues.slice(0, 5).map(formatIssue);
        throw new HangarError('INVALID_ARGUMENT', `${messages.join('; ')} (see the ${tool.name} input schema)`);
      }
      const reply = await tool.handle(parsed.data, { runtime, signal: ctx.signal, progress: ctx.progress });
      const structured = reply.structured as Record<string, unknown>;
      audit('ok');
      return {
        content: reply.blocks ?? [{ type: 'text', text: JSON.stringify(structured, null, 2) }],
        structuredContent: structured,
      };
    } catch (error) {
      const failure = isHangarError(error) ? error : new HangarError('INTERNAL', `${describeError(error)} (this is a bug in Hangar; the server keeps serving)`);
      if (!isHangarError(error)) runtime.logger.error(`tool ${name} failed`, { error: error instanceof Error ? error.stack : String(error) });
      audit('error', failure.code);
      return { content: [{ type: 'text', text: failure.render() }], isError: true };
    }
  }
}
