import { analyzeCode } from '../runtime/analysis/analyze.js';
import { benchmarkCode } from '../runtime/analysis/benchmark.js';
import { compareVariants } from '../runtime/analysis/compare.js';
import { HangarError } from '../runtime/errors.js';
import type { ExecutionResult } from '../runtime/exec/result.js';
import { cleanup } from '../runtime/slash/cleanup.js';
import type { PolicyRequest } from '../runtime/sandbox/policy.js';
import { parseSlash, splitVariants, type SlashCommand } from '../runtime/slash/parse.js';
import { renderAnalysis, renderBenchmark, renderCompare } from './analysis.js';
import type { ToolContext } from './define.js';
import { renderExecution } from './render.js';

/**
 * The slash commands (DESIGN.md section 5): one table, used by execute_code (language "slash") and
 * by the MCP prompts of the server layer. Each command takes its words and body from parseSlash;
 * prompt arguments are turned into the same text first, so both paths behave the same.
 */
export interface SlashArgument {
  name: string;
  description: string;
  required: boolean;
}

export interface SlashReply {
  text: string;
  /** The program's result, for commands that run one (execute_code returns it as is). */
  execution?: ExecutionResult;
}

export interface SlashDefinition {
  name: string;
  title: string;
  description: string;
  usage: string;
  arguments: SlashArgument[];
  /** Prompt arguments → slash text (the body after the first line). */
  toText(args: Record<string, string | undefined>): string;
  run(command: SlashCommand, ctx: ToolContext): Promise<SlashReply>;
}

/**
 * /secure_run: isolated, no network, tight limits (never looser than the operator's defaults).
 * /dev_run: network on and larger limits, as far as the operator's maximums allow.
 */
export const SECURE_POLICY = { timeoutS: 10, memoryMb: 256, cpuS: 10, maxProcesses: 32, maxFileMb: 16 } as const;
export const DEV_TIMEOUT_S = 300;
export const DEV_MEMORY_MB = 4096;

const arg = (name: string, description: string, required = true): SlashArgument => ({ name, description, required });
const LANGUAGE = arg('language', 'Language id from list_languages (python, javascript, c, ...)');
const CODE = arg('code', 'The code; newlines and indentation are kept');

/** `1024 MB`, or `unlimited` without a unit. */
function unit(value: number | null, name: string): string {
  return value === null ? 'unlimited' : `${value} ${name}`;
}

function needLanguage(command: SlashCommand): string {
  const language = command.words[0];
  if (!language) throw new HangarError('INVALID_ARGUMENT', `/${command.name} needs a language: "/${command.name} python" on the first line, the code below it`);
  return language;
}

function needBody(command: SlashCommand): string {
  if (command.body.trim() === '') throw new HangarError('INVALID_ARGUMENT', `/${command.name} needs code on the lines after "/${command.name} ${command.words.join(' ')}"`);
  return command.body;
}

function iterationsWord(word: string | undefined, fallback: number): number {
  if (word === undefined) return fallback;
  const n = Number(word);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new HangarError('INVALID_ARGUMENT', `iterations must be a whole number from 1 to 10000 (got "${word.slice(0, 20)}")`);
  return n;
}

const text = (execution: ExecutionResult, prefix = ''): SlashReply => ({
  text: `${prefix}${renderExecution(execution).map((b) => (b.type === 'text' ? b.text : '')).join('\n')}`,
  execution,
});

/** Runs the command's code in the default environment, like run_code without env_id. */
async function runWith(command: SlashCommand, ctx: ToolContext, policy: PolicyRequest, prefix = ''): Promise<SlashReply> {
  const env = await ctx.runtime.envs.get();
  const result = await ctx.runtime.exec.runCode({
    language: needLanguage(command),
    code: needBody(command),
    policy,
    environment: { pythonPath: env.python_path, envPath: env.env_path, workspacePath: env.workspace_path },
    signal: ctx.signal,
  });
  return text(result, prefix);
}

/** The smaller of what a command wants and what the operator's defaults already give. */
const tighter = (wanted: number, current: number | undefined): number => (current === undefined ? wanted : Math.min(wanted, current));

function describePolicy(policy: PolicyRequest): string {
  const parts = [`timeout ${policy.timeoutS ?? '?'} s`];
  if (policy.memoryMb !== undefined) parts.push(`memory ${policy.memoryMb} MB`);
  if (policy.cpuS !== undefined) parts.push(`cpu ${policy.cpuS} s`);
  if (policy.maxProcesses !== undefined) parts.push(`${policy.maxProcesses} processes`);
  if (policy.maxFileMb !== undefined) parts.push(`files ${policy.maxFileMb} MB`);
  parts.push(`network ${policy.network ?? 'off'}`);
  if (policy.sandbox) parts.push(`sandbox ${policy.sandbox}`);
  return parts.join(', ');
}

const codeText = (a: Record<string, string | undefined>, extra = ''): string => `${a.language ?? ''}${extra}\n${a.code ?? ''}`;

export const SLASH_COMMANDS: readonly SlashDefinition[] = [
  {
    name: 'help',
    title: 'Slash commands',
    description: 'List the slash commands and how to write them.',
    usage: '/help',
    arguments: [],
    toText: () => '',
    run: () => Promise.resolve({ text: SLASH_COMMANDS.map((c) => `${c.usage.padEnd(40)} ${c.description}`).join('\n') }),
  },
  {
    name: 'status',
    title: 'Status',
    description: 'Sandbox level, limits, available languages and the work running now.',
    usage: '/status',
    arguments: [],
    toText: () => '',
    run: async (_command, ctx) => {
      const { exec, languages, config } = ctx.runtime;
      const sandbox = exec.appliedSandbox(await exec.policyFor());
      const available = (await languages.list()).filter((l) => l.available).map((l) => `${l.id}${l.version ? ` ${l.version}` : ''}`);
      const l = sandbox.limits;
      return {
        text: [
          `sandbox    ${sandbox.level}, network ${sandbox.network}, limits by ${sandbox.enforcement}`,
          `limits     timeout ${l.timeout_s} s (max ${config.maxTimeout} s), memory ${unit(l.memory_mb, 'MB')}, cpu ${unit(l.cpu_s, 's')}, processes ${l.max_processes ?? 'unlimited'}, file ${unit(l.max_file_mb, 'MB')}, output ${l.max_output_chars} chars`,
          `languages  ${available.join(', ')}`,
          `running    ${exec.runningCount} process${exec.runningCount === 1 ? '' : 'es'}; ${exec.standbyCount} launched ahead for the next run (max ${config.warmSandboxes})`,
        ].join('\n'),
      };
    },
  },
  {
    name: 'run',
    title: 'Run code',
    description: 'Run code with the default limits.',
    usage: '/run <language>  + code below',
    arguments: [LANGUAGE, CODE],
    toText: (a) => codeText(a),
    run: (command, ctx) => runWith(command, ctx, {}),
  },
  {
    name: 'secure_run',
    title: 'Secure run',
    description: `Review the code (analyze_code findings), then run it isolated, without network, with tight limits (${describePolicy({ ...SECURE_POLICY, sandbox: 'isolated' })}).`,
    usage: '/secure_run <language>  + code below',
    arguments: [LANGUAGE, CODE],
    toText: (a) => codeText(a),
    run: async (command, ctx) => {
      const analysis = await analyzeCode(ctx.runtime, needBody(command), needLanguage(command), ctx.signal);
      const { config } = ctx.runtime;
      // Isolated is asked for, not hoped for: where bubblewrap is unavailable this is POLICY_DENIED.
      const policy: PolicyRequest = {
        sandbox: 'isolated',
        network: 'off',
        timeoutS: tighter(SECURE_POLICY.timeoutS, config.defaultTimeout),
        memoryMb: tighter(SECURE_POLICY.memoryMb, config.memoryMb),
        cpuS: tighter(SECURE_POLICY.cpuS, config.cpuS),
        maxProcesses: tighter(SECURE_POLICY.maxProcesses, config.processes),
        maxFileMb: tighter(SECURE_POLICY.maxFileMb, config.fileMb),
      };
      return runWith(command, ctx, policy, `[analysis] ${renderAnalysis(analysis)}\n[run: ${describePolicy(policy)}]\n`);
    },
  },
  {
    name: 'dev_run',
    title: 'Development run',
    description: `Run code with network on and larger limits (timeout up to ${DEV_TIMEOUT_S} s, memory up to ${DEV_MEMORY_MB} MB), as far as the operator allows.`,
    usage: '/dev_run <language>  + code below',
    arguments: [LANGUAGE, CODE],
    toText: (a) => codeText(a),
    run: (command, ctx) => {
      const { config } = ctx.runtime;
      const policy: PolicyRequest = {
        timeoutS: Math.min(DEV_TIMEOUT_S, config.maxTimeout),
        memoryMb: Math.min(DEV_MEMORY_MB, config.maxMemoryMb),
        network: config.allowNetwork ? 'on' : 'off',
      };
      const note = config.allowNetwork ? '' : ' (the operator denies network access: ran without)';
      return runWith(command, ctx, policy, `[run: ${describePolicy(policy)}${note}]\n`);
    },
  },
  {
    name: 'benchmark',
    title: 'Benchmark',
    description: 'Time code over many iterations (benchmark_code).',
    usage: '/benchmark <language> [iterations]  + code below',
    arguments: [LANGUAGE, CODE, arg('iterations', 'Timed iterations (default 10)', false)],
    toText: (a) => codeText(a, a.iterations ? ` ${a.iterations}` : ''),
    run: async (command, ctx) => {
      const result = await benchmarkCode(ctx.runtime, {
        code: needBody(command),
        language: needLanguage(command),
        iterations: iterationsWord(command.words[1], 10),
        warmup: 1,
        signal: ctx.signal,
      });
      return { text: renderBenchmark(result) };
    },
  },
  {
    name: 'quantum',
    title: 'Compare variants',
    description: 'Run variants in parallel, check they agree, rank the correct ones by speed (compare_variants). Separate variants with a line ---.',
    usage: '/quantum <language> [iterations]  + variants separated by ---',
    arguments: [LANGUAGE, arg('variants', 'The variants, separated by a line containing only ---'), arg('iterations', 'Timed iterations per variant (default 5)', false)],
    toText: (a) => `${a.language ?? ''}${a.iterations ? ` ${a.iterations}` : ''}\n${a.variants ?? ''}`,
    run: async (command, ctx) => {
      const variants = splitVariants(needBody(command)).map((code, i) => ({ name: `variant_${i + 1}`, code }));
      if (variants.length < 2) throw new HangarError('INVALID_ARGUMENT', '/quantum needs at least two variants separated by a line containing only ---');
      const result = await compareVariants(ctx.runtime, { variants, language: needLanguage(command), iterations: iterationsWord(command.words[1], 5), signal: ctx.signal });
      return { text: renderCompare(result) };
    },
  },
  {
    name: 'cleanup',
    title: 'Clean up',
    description: 'Remove scratch directories of finished runs and expired content; "/cleanup all" also removes the output kept by this server.',
    usage: '/cleanup [all]',
    arguments: [arg('scope', '"all" also removes content this server kept for its callers', false)],
    toText: (a) => (a.scope ? ` ${a.scope}` : ''),
    run: async (command, ctx) => {
      const scope = command.words[0];
      if (scope !== undefined && scope !== 'all') throw new HangarError('INVALID_ARGUMENT', `/cleanup takes nothing or "all" (got "${scope.slice(0, 20)}")`);
      const r = await cleanup(ctx.runtime.exec, ctx.runtime.content, scope === 'all');
      return { text: `removed ${r.scratch_dirs_removed} scratch director${r.scratch_dirs_removed === 1 ? 'y' : 'ies'} and ${r.content_removed} content item(s); ${r.content_kept} kept` };
    },
  },
];

export function findSlash(name: string): SlashDefinition {
  const found = SLASH_COMMANDS.find((c) => c.name === name);
  if (!found) throw new HangarError('INVALID_ARGUMENT', `unknown slash command "/${name.slice(0, 32)}"; known: ${SLASH_COMMANDS.map((c) => `/${c.name}`).join(', ')}`);
  return found;
}

/** Runs slash text as written by an agent or person: "/run python\nprint(1)". */
export async function runSlashText(source: string, ctx: ToolContext): Promise<SlashReply> {
  const command = parseSlash(source);
  return findSlash(command.name).run(command, ctx);
}

/** Runs a prompt: its arguments become slash text first, so the one parser decides. */
export async function runSlashPrompt(name: string, args: Record<string, string | undefined>, ctx: ToolContext): Promise<SlashReply> {
  const definition = findSlash(name);
  for (const a of definition.arguments) {
    if (a.required && !args[a.name]) throw new HangarError('INVALID_ARGUMENT', `prompt ${name} needs the argument "${a.name}" (${a.description})`);
  }
  const body = definition.toText(args);
  const [first = '', ...rest] = body.split('\n');
  return runSlashText(`/${name}${first ? ` ${first.trim()}` : ''}${rest.length > 0 ? `\n${rest.join('\n')}` : ''}`, ctx);
}
