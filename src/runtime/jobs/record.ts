import { z } from 'zod';
import { RecordType } from '../store/records.js';
import { JobSpecSchema } from './spec.js';

export const JOB_PHASES = ['queued', 'syncing', 'bootstrapping', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

const CommandResultSchema = z.object({
  command: z.string(),
  status: z.string(),
  exit_code: z.number().nullable(),
  duration_ms: z.number(),
  output_tail: z.string(),
});
export type CommandResult = z.infer<typeof CommandResultSchema>;

/** jobs/<id>/job.json */
export const JobRecordSchema = z.object({
  job_id: z.string(),
  env_id: z.string(),
  spec: JobSpecSchema,
  phase: z.enum(JOB_PHASES),
  submitted_at: z.string(),
  updated_at: z.string(),
  error: z.string().nullable(),
  synced: z.array(z.object({ local_dir: z.string(), remote_dir: z.string(), files: z.number(), bytes: z.number() })),
  bootstrap: z.array(CommandResultSchema),
  process_id: z.string().nullable(),
  run: z.object({ exit_code: z.number().nullable(), signal: z.string().nullable(), reason: z.string().nullable() }).nullable(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

export const JOB_RECORD = new RecordType('job', 1, JobRecordSchema);
