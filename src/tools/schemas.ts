import { z } from 'zod';
import type { PolicyRequest } from '../runtime/sandbox/policy.js';

/** Schemas shared by several tools: written once, here. */

const NO_NUL = (what: string) => (value: string) => !value.includes('\0') || `${what} contains a NUL byte`;

export const MAX_CODE_CHARS = 1_000_000;

/** 1000000 → "1,000,000" without toLocaleString, whose first call loads ICU (~17 ms of start-up). */
function withCommas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export const codeArg = z
  .string()
  .max(MAX_CODE_CHARS, `code is limited to ${withCommas(MAX_CODE_CHARS)} characters; put larger programs in files`)
  .check((ctx) => {
    const verdict = NO_NUL('code')(ctx.value);
    if (verdict !== true) ctx.issues.push({ code: 'custom', message: verdict, input: ctx.value });
  })
  .describe('Source code to run.');

export const safeString = (what: string, max: number) =>
  z
    .string()
    .max(max, `${what} is limited to ${max} characters`)
    .refine((value) => !value.includes('\0'), `${what} contains a NUL byte`);

export const timeoutArg = z
  .number()
  .positive('timeout_s must be above 0')
  .max(86_400)
  .optional()
  .describe('Seconds before the run is killed (whole process tree). Default: the operator\'s default (60 s); at most the operator\'s maximum.');

/**
 * The sandbox arguments of every tool that runs code (run_code, execute_code, and later run_script,
 * workspace_run_script, spawn_process, repl_create): spread `...sandboxArgs` into the input object and
 * pass the parsed values through `policyRequest()`. Each may only make the operator's policy stricter.
 */
export const sandboxArgs = {
  timeout_s: timeoutArg,
  memory_mb: z.number().int().min(16, 'memory_mb must be at least 16').optional()
    .describe('Memory limit of the whole run in MB (default: the operator\'s, 1024). Exceeding it kills the run (status "killed").'),
  cpu_s: z.number().positive('cpu_s must be above 0').optional()
    .describe('CPU seconds the whole run may use (all processes together); exceeding it kills the run.'),
  max_processes: z.number().int().min(2, 'max_processes must be at least 2').optional()
    .describe('Processes and threads the run may have at once (default 256); reaching it kills the run.'),
  max_file_mb: z.number().int().positive('max_file_mb must be above 0').optional()
    .describe('Largest file the run may write, in MB; writing past it kills the run.'),
  max_output_chars: z.number().int().min(200, 'max_output_chars must be at least 200').optional()
    .describe('Characters of each output stream shown before head + tail (the rest is kept by reference).'),
  sandbox: z.enum(['process', 'isolated']).optional()
    .describe('"isolated" (bubblewrap namespaces; the default where available) or "process" (if the operator allows it).'),
  network: z.enum(['off', 'on']).optional()
    .describe('"off" (default) or "on" (only if the operator allows network access).'),
};

export interface SandboxArgValues {
  timeout_s?: number;
  memory_mb?: number;
  cpu_s?: number;
  max_processes?: number;
  max_file_mb?: number;
  max_output_chars?: number;
  sandbox?: 'process' | 'isolated';
  network?: 'off' | 'on';
}

/** The runtime's PolicyRequest for parsed sandbox arguments. */
export function policyRequest(args: SandboxArgValues): PolicyRequest {
  return {
    timeoutS: args.timeout_s,
    memoryMb: args.memory_mb,
    cpuS: args.cpu_s,
    maxProcesses: args.max_processes,
    maxFileMb: args.max_file_mb,
    maxOutputChars: args.max_output_chars,
    sandbox: args.sandbox,
    network: args.network,
  };
}

export const argsArg = z.array(safeString('an argument', 4096)).max(256).optional().describe('Command-line arguments passed to the program.');

export const stdinArg = z.string().max(4_000_000, 'stdin is limited to 4,000,000 characters').optional().describe('Text fed to standard input.');

export const envIdArg = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'env_id is letters, digits, "_" and "-" (at most 64)')
  .optional()
  .describe('Environment to run in; omitted means "default".');

export { ExecutionResultSchema } from '../runtime/exec/result.js';
