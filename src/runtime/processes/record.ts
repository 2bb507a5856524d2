import { z } from 'zod';
import { AppliedSandboxSchema } from '../sandbox/limits.js';
import { RecordType } from '../store/records.js';

/**
 * The sandbox a background process runs under, as reported by spawn_process and list_processes: a
 * run's applied sandbox, except that the lifetime (timeout_s) may be null (runs until killed) and
 * output has no character cap (the log has a size cap instead).
 */
export const ProcessSandboxSchema = AppliedSandboxSchema.extend({
  limits: AppliedSandboxSchema.shape.limits.omit({ max_output_chars: true }).extend({ timeout_s: z.number().nullable() }),
});

export type ProcessSandbox = z.infer<typeof ProcessSandboxSchema>;

/** processes/<id>/process.json: what a later server needs to re-attach (pid + start time). */
export const ProcessRecordSchema = z.object({
  process_id: z.string(),
  name: z.string(),
  env_id: z.string(),
  command: z.array(z.string()),
  cwd: z.string(),
  pid: z.number().int(),
  /** /proc/<pid>/stat field 22: with the pid, identifies the process across pid reuse. */
  start_time: z.number(),
  supervisor_pid: z.number().int(),
  supervisor_start_time: z.number(),
  started_at: z.string(),
  timeout_s: z.number().nullable(),
  capture_output: z.boolean(),
  segment_bytes: z.number().int().positive(),
  keep_segments: z.number().int().positive(),
  cgroup: z.object({ mode: z.enum(['v1', 'v2']), dirs: z.record(z.string(), z.string()) }).nullable(),
  /** Null for records written before processes ran in the sandbox. */
  sandbox: ProcessSandboxSchema.nullable().default(null),
  kill_requested: z.object({ signal: z.string(), at: z.string() }).nullable(),
  ended: z
    .object({
      exit_code: z.number().int().nullable(),
      signal: z.string().nullable(),
      ended_at: z.string(),
      reason: z.string().nullable(),
      /** Ended while no Hangar server was running; reported once at the next start. */
      while_server_down: z.boolean(),
    })
    .nullable(),
});

export type ProcessRecord = z.infer<typeof ProcessRecordSchema>;

export const PROCESS_RECORD = new RecordType('process', 1, ProcessRecordSchema);
