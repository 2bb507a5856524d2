import { z } from 'zod';
import { RecordType } from '../store/records.js';
import { BACKEND_NAMES } from './backends.js';

/** `<data>/envs/<env_id>/env.json`: what an environment is. Versioned, written atomically. */
export const EnvRecordSchema = z.object({
  env_id: z.string(),
  name: z.string(),
  python_version: z.string(),
  /** The environment's interpreter (inside env_path). */
  python_path: z.string(),
  /** The python env directory: a venv, or a conda prefix. */
  env_path: z.string(),
  workspace_path: z.string(),
  backend: z.enum(BACKEND_NAMES),
  created_at: z.string(),
  /** Real path of the interpreter the environment was made from. */
  base_python: z.string(),
  system_site_packages: z.boolean(),
  /** Packages installed with use_conda, and their channels: what freeze records for conda. */
  conda_specs: z.array(z.string()).default([]),
  conda_channels: z.array(z.string()).default([]),
});

export type EnvRecord = z.infer<typeof EnvRecordSchema>;

export const ENV_RECORD = new RecordType('environment', 1, EnvRecordSchema);

/** freeze_environment's document: enough to rebuild the same package set elsewhere. */
export const FROZEN_FORMAT = 'hangar.environment';
export const FROZEN_VERSION = 1;

export const FrozenEnvSchema = z.object({
  format: z.literal(FROZEN_FORMAT),
  format_version: z.number().int().min(1).max(FROZEN_VERSION),
  name: z.string(),
  python_version: z.string(),
  backend: z.enum(BACKEND_NAMES),
  system_site_packages: z.boolean().default(false),
  packages: z.array(z.object({ name: z.string(), version: z.string() })).max(5000),
  conda: z.object({ channels: z.array(z.string()), specs: z.array(z.string()) }).optional(),
  frozen_at: z.string().optional(),
});

export type FrozenEnv = z.infer<typeof FrozenEnvSchema>;
