import { z } from 'zod';
import { HangarError } from '../runtime/errors.js';
import { BACKEND_NAMES, EnvRecordSchema, type EnvRecord, type InstallOutcome, type PackageRequest } from '../runtime/envs/index.js';
import type { ToolAnnotations, ToolContext } from './define.js';
import { READ_ONLY, defineTool } from './define.js';
import { envIdArg, safeString } from './schemas.js';

/** The environments toolset (DESIGN.md section 5): Python environments, their packages, freeze and restore. */

const CHANGES_STATE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const INSTALLS: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };
const DESTROYS: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false };

const EnvSchema = EnvRecordSchema.pick({
  env_id: true,
  name: true,
  python_version: true,
  python_path: true,
  env_path: true,
  workspace_path: true,
  backend: true,
  system_site_packages: true,
  created_at: true,
});
const PackageSchema = z.object({ name: z.string(), version: z.string() });
const ChangesSchema = z.object({
  added: z.array(PackageSchema),
  removed: z.array(PackageSchema),
  changed: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })),
});

function envOut(env: EnvRecord): z.infer<typeof EnvSchema> {
  return {
    env_id: env.env_id,
    name: env.name,
    python_version: env.python_version,
    python_path: env.python_path,
    env_path: env.env_path,
    workspace_path: env.workspace_path,
    backend: env.backend,
    system_site_packages: env.system_site_packages,
    created_at: env.created_at,
  };
}

const packagesArg = z.array(safeString('a package', 2000)).min(1, 'name at least one package').max(500).describe('Requirements such as "requests", "numpy>=1.26", "pkg[extra]==1.2" (no pip options).');
const sourceArgs = {
  upgrade: z.boolean().default(false).describe('Upgrade packages that are already installed.'),
  index_url: safeString('index_url', 2048).optional().describe('Package index instead of the default (http/https URL).'),
  extra_index_url: z.union([safeString('extra_index_url', 2048), z.array(safeString('extra_index_url', 2048)).max(10)]).optional().describe('Extra package index URL(s).'),
  find_links: z.union([safeString('find_links', 4096), z.array(safeString('find_links', 4096)).max(10)]).optional().describe('URL(s) or absolute directories of wheels / archives to install from.'),
  timeout_s: z.number().positive().max(86_400).optional().describe("Seconds before the install is killed; default and maximum: the operator's install timeout."),
};
const asList = (value: string | string[] | undefined): string[] | undefined => (value === undefined ? undefined : Array.isArray(value) ? value : [value]);

function packageRequest(args: { upgrade: boolean; index_url?: string; extra_index_url?: string | string[]; find_links?: string | string[]; timeout_s?: number }, ctx: ToolContext): PackageRequest {
  return {
    upgrade: args.upgrade,
    indexUrl: args.index_url,
    extraIndexUrl: asList(args.extra_index_url),
    findLinks: asList(args.find_links),
    timeoutS: args.timeout_s,
    signal: ctx.signal,
    onProgress: (step, count) => ctx.progress(count, undefined, step.message),
  };
}

const InstallOutput = z.object({ env_id: z.string(), changes: ChangesSchema, packages: z.array(PackageSchema), log: z.array(z.string()) });

function installReply(envId: string, outcome: InstallOutcome) {
  const { added, changed, removed } = outcome.changes;
  const parts = [...added.map((p) => `+ ${p.name} ${p.version}`), ...changed.map((c) => `~ ${c.name} ${c.from} → ${c.to}`), ...removed.map((p) => `- ${p.name} ${p.version}`)];
  const text = parts.length > 0 ? `Installed into ${envId}:\n${parts.join('\n')}` : `Nothing to change in ${envId}: requirements already satisfied.`;
  return { structured: { env_id: envId, ...outcome }, blocks: [{ type: 'text' as const, text }] };
}

const createEnvironment = defineTool({
  name: 'create_environment',
  title: 'Create a Python environment',
  description:
    'Create an isolated Python environment (its own packages and workspace directory) in milliseconds. Use it to keep projects ' +
    'apart or to pick a Python version; "default" exists always. Returns env_id (pass it to install_packages, run_code, ...), ' +
    'python_version, python_path, env_path, workspace_path and backend. list_interpreters shows the Python versions available.',
  toolset: 'environments',
  input: z.object({
    name: safeString('name', 10_000).describe('A label: 1 to 64 letters, digits, ".", "_" or "-"; unique.'),
    python_version: safeString('python_version', 4096).optional().describe('"3.11", "3.11.7" or an absolute path to a python binary; default: the host Python.'),
    system_site_packages: z.boolean().default(false).describe("Let the environment see the base Python's installed packages."),
    backend: z.enum(BACKEND_NAMES).optional().describe('venv (default, always available), uv, conda or micromamba when installed.'),
  }),
  output: EnvSchema,
  annotations: CHANGES_STATE,
  handle: async (args, ctx) => {
    const env = await ctx.runtime.envs.create({ name: args.name, pythonVersion: args.python_version, systemSitePackages: args.system_site_packages, backend: args.backend, signal: ctx.signal });
    return { structured: envOut(env), blocks: [{ type: 'text', text: `Created ${env.env_id} (${env.name}): Python ${env.python_version}, ${env.backend}, workspace ${env.workspace_path}` }] };
  },
});

const listEnvironments = defineTool({
  name: 'list_environments',
  title: 'List environments',
  description: 'List the Python environments with their ids, names, Python versions, backends and status ("broken" when its files vanished: destroy and recreate it).',
  toolset: 'environments',
  input: z.object({}),
  output: z.object({ environments: z.array(EnvSchema.extend({ status: z.enum(['ok', 'broken']), problem: z.string().nullable() })) }),
  annotations: READ_ONLY,
  handle: async (_args, ctx) => {
    const environments = (await ctx.runtime.envs.list()).map((e) => ({ ...envOut(e), status: e.status, problem: e.problem }));
    const text = environments.map((e) => `${e.env_id}  ${e.name}  Python ${e.python_version}  ${e.backend}${e.status === 'broken' ? `  BROKEN: ${e.problem ?? ''}` : ''}`).join('\n');
    return { structured: { environments }, blocks: [{ type: 'text', text: text || 'No environments yet ("default" is created on first use).' }] };
  },
});

const destroyEnvironment = defineTool({
  name: 'destroy_environment',
  title: 'Destroy an environment',
  description: 'End the processes and sessions of an environment, then delete it with its packages and workspace files. "default" is recreated empty on next use.',
  toolset: 'environments',
  input: z.object({ env_id: z.string().max(10_000).describe('The environment to delete.') }),
  output: z.object({ env_id: z.string(), destroyed: z.boolean() }),
  annotations: DESTROYS,
  handle: async (args, ctx) => {
    const env = await ctx.runtime.envs.destroy(args.env_id);
    return { structured: { env_id: env.env_id, destroyed: true }, blocks: [{ type: 'text', text: `Destroyed ${env.env_id}.` }] };
  },
});

const installPackages = defineTool({
  name: 'install_packages',
  title: 'Install packages',
  description:
    'Install Python packages into an environment with pip (or uv / conda for those backends), reporting progress per package. ' +
    'Installs into one environment run one at a time; a failed install returns INSTALL_FAILED with the installer\'s last lines and leaves ' +
    'the environment as it was. Returns what changed and the installed package list.',
  toolset: 'environments',
  input: z.object({
    env_id: envIdArg,
    packages: packagesArg,
    use_conda: z.boolean().default(false).describe('Install with conda (conda / micromamba environments only).'),
    ...sourceArgs,
  }),
  output: InstallOutput,
  annotations: INSTALLS,
  handle: async (args, ctx) => {
    const outcome = await ctx.runtime.envs.installPackages(args.env_id, args.packages, { ...packageRequest(args, ctx), useConda: args.use_conda });
    return installReply(args.env_id ?? 'default', outcome);
  },
});

const installRequirements = defineTool({
  name: 'install_requirements',
  title: 'Install a requirements file',
  description: 'Install the packages listed in a requirements file in the environment\'s workspace (package lines only: no pip options). Same behaviour as install_packages.',
  toolset: 'environments',
  input: z.object({
    env_id: envIdArg,
    requirements_path: safeString('requirements_path', 4096).describe('Path relative to the workspace, e.g. "requirements.txt".'),
    ...sourceArgs,
  }),
  output: InstallOutput,
  annotations: INSTALLS,
  handle: async (args, ctx) => {
    const outcome = await ctx.runtime.envs.installRequirements(args.env_id, args.requirements_path, packageRequest(args, ctx));
    return installReply(args.env_id ?? 'default', outcome);
  },
});

const listPackages = defineTool({
  name: 'list_packages',
  title: 'List packages',
  description: 'List the packages installed in an environment, with exact versions.',
  toolset: 'environments',
  input: z.object({ env_id: envIdArg }),
  output: z.object({ env_id: z.string(), packages: z.array(PackageSchema) }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const { env, packages } = await ctx.runtime.envs.listPackages(args.env_id);
    const text = packages.map((p) => `${p.name}==${p.version}`).join('\n') || '(no packages)';
    return { structured: { env_id: env.env_id, packages }, blocks: [{ type: 'text', text }] };
  },
});

const FrozenOutput = z.object({
  format: z.string(),
  format_version: z.number(),
  name: z.string(),
  python_version: z.string(),
  backend: z.enum(BACKEND_NAMES),
  system_site_packages: z.boolean(),
  packages: z.array(PackageSchema),
  conda: z.object({ channels: z.array(z.string()), specs: z.array(z.string()) }).optional(),
  frozen_at: z.string().optional(),
});

const freezeEnvironment = defineTool({
  name: 'freeze_environment',
  title: 'Freeze an environment',
  description: 'Describe an environment as a JSON document (Python version, backend, exact package versions); restore_environment rebuilds it here or on another machine.',
  toolset: 'environments',
  input: z.object({ env_id: envIdArg }),
  output: FrozenOutput,
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const frozen = await ctx.runtime.envs.freeze(args.env_id);
    return { structured: frozen, blocks: [{ type: 'text', text: JSON.stringify(frozen, null, 2) }] };
  },
});

const restoreEnvironment = defineTool({
  name: 'restore_environment',
  title: 'Restore an environment',
  description: 'Create a new environment from a freeze_environment document: same Python (or the same minor version), same exact packages. On failure nothing is left behind.',
  toolset: 'environments',
  input: z.object({
    name: safeString('name', 10_000).describe('Name of the new environment.'),
    frozen_json: z.union([safeString('frozen_json', 5_000_000), z.record(z.string(), z.unknown())]).describe('The document from freeze_environment (object or JSON text).'),
    ...sourceArgs,
  }),
  output: z.object({ env: EnvSchema, packages: z.array(PackageSchema), warnings: z.array(z.string()) }),
  annotations: INSTALLS,
  handle: async (args, ctx) => {
    let frozen: unknown = args.frozen_json;
    if (typeof frozen === 'string') {
      try {
        frozen = JSON.parse(frozen);
      } catch {
        throw new HangarError('INVALID_ARGUMENT', 'frozen_json is not valid JSON; pass the document freeze_environment returned');
      }
    }
    const { env, packages, warnings } = await ctx.runtime.envs.restore(args.name, frozen, packageRequest(args, ctx));
    const text = `Restored ${env.env_id} (${env.name}) with ${packages.length} packages.${warnings.length ? `\nWarnings: ${warnings.join('; ')}` : ''}`;
    return { structured: { env: envOut(env), packages, warnings }, blocks: [{ type: 'text', text }] };
  },
});

const listInterpreters = defineTool({
  name: 'list_interpreters',
  title: 'List Python interpreters',
  description: 'List the Python interpreters on this machine (PATH, system, pyenv, uv, conda) with versions, and the environment backends available. Use a version from here as create_environment\'s python_version.',
  toolset: 'environments',
  input: z.object({ refresh: z.boolean().default(false).describe('Look again instead of using the cached answer.') }),
  output: z.object({
    interpreters: z.array(z.object({ version: z.string(), path: z.string(), source: z.string(), implementation: z.string(), usable: z.boolean(), default: z.boolean() })),
    backends: z.array(z.object({ name: z.enum(BACKEND_NAMES), program: z.string().nullable() })),
  }),
  annotations: READ_ONLY,
  handle: async (args, ctx) => {
    const [interpreters, backends] = await Promise.all([ctx.runtime.envs.interpreters.list(args.refresh), ctx.runtime.envs.availableBackends()]);
    const text = [
      ...interpreters.map((i) => `${i.default ? '*' : ' '} ${i.version.padEnd(8)} ${i.path} (${i.source}${i.usable ? '' : ', not usable for environments'})`),
      `backends: ${backends.map((b) => b.name).join(', ')}`,
    ].join('\n');
    return { structured: { interpreters, backends }, blocks: [{ type: 'text', text }] };
  },
});

export const environmentTools = [
  createEnvironment,
  listEnvironments,
  destroyEnvironment,
  installPackages,
  installRequirements,
  listPackages,
  freezeEnvironment,
  restoreEnvironment,
  listInterpreters,
];
