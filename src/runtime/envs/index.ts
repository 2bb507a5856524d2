export { BACKEND_NAMES, type BackendName } from './backends.js';
export { DEFAULT_ENV, EnvManager, type BeforeDestroyListener, type CreateOptions, type EnvListing, type EnvStatus, type PackageRequest } from './env-manager.js';
export type { InstallOutcome } from './install.js';
export type { Interpreter } from './interpreters.js';
export type { InstalledPackage, PackageDiff } from './packages.js';
export { EnvRecordSchema, FrozenEnvSchema, type EnvRecord, type FrozenEnv } from './record.js';
export type { InstallStep } from './specs.js';
