import { z } from 'zod';

/** Schemas shared by several tools: written once, here. */

const NO_NUL = (what: string) => (value: string) => !value.includes('\0') || `${what} contains a NUL byte`;

export const MAX_CODE_CHARS = 1_000_000;

export const codeArg = z
  .string()
  .max(MAX_CODE_CHARS, `code is limited to ${MAX_CODE_CHARS.toLocaleString('en')} characters; put larger programs in files`)
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

export const argsArg = z.array(safeString('an argument', 4096)).max(256).optional().describe('Command-line arguments passed to the program.');

export const stdinArg = z.string().max(4_000_000, 'stdin is limited to 4,000,000 characters').optional().describe('Text fed to standard input.');

export const envIdArg = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'env_id is letters, digits, "_" and "-" (at most 64)')
  .optional()
  .describe('Environment to run in; omitted means "default".');

export const ExecutionResultSchema = z.object({
  status: z.enum(['ok', 'error', 'timeout', 'killed', 'cancelled']),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z
    .object({
      stdout_bytes: z.number(),
      stderr_bytes: z.number(),
      ref_id: z.string(),
      stdout_ref_id: z.string().nullable(),
      stderr_ref_id: z.string().nullable(),
    })
    .nullable()
    .describe('Set when output was cut to head + tail; the whole streams are readable with get_content.'),
  error: z.object({ name: z.string(), message: z.string(), traceback: z.string().nullable() }).nullable(),
  duration_ms: z.number(),
  cpu_ms: z.number().nullable(),
  peak_memory_mb: z.number().nullable(),
  sandbox: z.object({
    level: z.enum(['process', 'isolated']),
    network: z.enum(['off', 'on']),
    limits: z.object({
      timeout_s: z.number(),
      memory_mb: z.number().nullable(),
      cpu_s: z.number().nullable(),
      max_processes: z.number().nullable(),
      max_file_mb: z.number().nullable(),
      max_output_chars: z.number(),
    }),
    enforcement: z.enum(['cgroup', 'rlimit']),
  }),
  warnings: z.array(z.string()),
});
