import { execFile } from 'node:child_process';
import type { Runtime } from './runtime.js';
import type { Interpreter } from './envs/interpreters.js';
import type { LanguageInfo } from './languages/registry.js';
import { listKernelSpecs } from './sessions/kernelspecs.js';

/** What this machine offers Hangar, and what falls back (DESIGN.md section 8, `hangar doctor`). */
export interface DoctorReport {
  node: { version: string; path: string };
  languages: LanguageInfo[];
  /** Pythons environments can be made from. */
  interpreters: Interpreter[];
  /** Jupyter kernelspecs installed on the machine (environments may add their own). */
  kernelspecs: Array<{ name: string; display_name: string; language: string }>;
  sandbox: {
    level: 'process' | 'isolated';
    bubblewrap: ToolProbe & { namespaces: boolean };
    note: string;
    network: string;
    /** Operator defaults and ceilings, as "default (max ceiling)". */
    limits: Record<string, string>;
  };
  cgroups: { mode: string; detail: string };
  git: ToolProbe;
  dataDir: string;
}

export interface ToolProbe {
  found: boolean;
  path: string | null;
  version: string | null;
  error?: string;
}

function run(file: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000, env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' } }, (error, stdout, stderr) => {
      resolve({ ok: !error, out: `${stdout}${stderr}`.trim() });
    });
  });
}

async function probe(candidates: string[], versionArgs: string[]): Promise<ToolProbe> {
  for (const file of candidates) {
    const result = await run(file, versionArgs);
    if (result.ok) return { found: true, path: file, version: /\d+\.\d+(\.\d+)?/.exec(result.out)?.[0] ?? result.out };
  }
  return { found: false, path: null, version: null };
}

export async function doctor(runtime: Runtime): Promise<DoctorReport> {
  const [languages, interpreters, kernelspecs, bwrap, git] = await Promise.all([
    runtime.languages.list(),
    runtime.envs.interpreters.list(),
    listKernelSpecs(),
    probe(['/usr/bin/bwrap', '/usr/local/bin/bwrap'], ['--version']),
    probe(['/usr/bin/git', '/usr/local/bin/git'], ['--version']),
  ]);
  const isolation = await runtime.exec.isolation();
  const { config } = runtime;
  const level = config.sandbox === 'process' || !isolation.available ? 'process' : 'isolated';
  let note: string;
  if (config.sandbox === 'isolated' && !isolation.available) note = `REQUIRED by --sandbox isolated but unavailable (${isolation.reason}): every run fails with POLICY_DENIED`;
  else if (level === 'isolated') note = 'runs use level isolated (bubblewrap namespaces, read-only system, private /tmp, no network unless asked and allowed)';
  else if (config.sandbox === 'process') note = 'level process chosen by --sandbox process (own session and process group, cgroup or rlimits, scrubbed environment)';
  else note = `isolated sandbox unavailable (${isolation.reason}): runs fall back to level process and say so in warnings`;
  return {
    node: { version: process.version, path: process.execPath },
    languages,
    interpreters,
    kernelspecs: kernelspecs.map((k) => ({ name: k.name, display_name: k.displayName, language: k.language })),
    sandbox: {
      level,
      bubblewrap: { ...bwrap, namespaces: isolation.available, ...(isolation.available || !bwrap.found ? {} : { error: isolation.reason }) },
      note,
      network: config.allowNetwork ? 'calls may ask for network "on" (default off)' : 'denied by the operator (--deny-network)',
      limits: {
        memory_mb: `${config.memoryMb} (max ${config.maxMemoryMb})`,
        cpu_s: `${config.cpuS ?? 'none'} (max ${config.maxCpuS ?? 'none'})`,
        max_processes: `${config.processes} (max ${config.maxProcesses})`,
        max_file_mb: `${config.fileMb} (max ${config.maxFileMb})`,
        timeout_s: `${config.defaultTimeout} (max ${config.maxTimeout})`,
      },
    },
    cgroups: { mode: runtime.cgroups.mode, detail: runtime.cgroups.detail },
    git,
    dataDir: runtime.layout.root,
  };
}
