import { execFile } from 'node:child_process';
import type { Runtime } from './runtime.js';
import type { LanguageInfo } from './languages/registry.js';

/** What this machine offers Hangar, and what falls back (DESIGN.md section 8, `hangar doctor`). */
export interface DoctorReport {
  node: { version: string; path: string };
  languages: LanguageInfo[];
  sandbox: { level: 'process' | 'isolated'; bubblewrap: ToolProbe & { namespaces: boolean }; note: string };
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
  const [languages, bwrap, git] = await Promise.all([
    runtime.languages.list(),
    probe(['/usr/bin/bwrap', '/usr/local/bin/bwrap'], ['--version']),
    probe(['/usr/bin/git', '/usr/local/bin/git'], ['--version']),
  ]);
  let namespaces = false;
  let error: string | undefined;
  if (bwrap.path) {
    const test = await run(bwrap.path, ['--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '/bin/true']);
    namespaces = test.ok;
    if (!test.ok) error = test.out.split('\n')[0];
  }
  return {
    node: { version: process.version, path: process.execPath },
    languages,
    sandbox: {
      level: 'process',
      bubblewrap: { ...bwrap, namespaces, ...(error ? { error } : {}) },
      note: 'runs use level process (own session and process group, cgroup or rlimits, scrubbed environment, private working directory)',
    },
    cgroups: { mode: runtime.cgroups.mode, detail: runtime.cgroups.detail },
    git,
    dataDir: runtime.layout.root,
  };
}
