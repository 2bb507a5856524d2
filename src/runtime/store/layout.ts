import path from 'node:path';

/** The data directory of DESIGN.md section 7: every path Hangar writes is named here and nowhere else. */
export interface DataLayout {
  readonly root: string;
  readonly envs: string;
  readonly sessions: string;
  readonly processes: string;
  readonly jobs: string;
  readonly content: string;
  readonly scratch: string;
  /** Tools Hangar unpacks for itself (the shared pip); safe to delete. */
  readonly cache: string;
  readonly upstreams: string;
  readonly auditLog: string;
  env(envId: string): string;
  session(sessionId: string): string;
  process(processId: string): string;
  job(jobId: string): string;
}

export function dataLayout(root: string): DataLayout {
  const abs = path.resolve(root);
  const envs = path.join(abs, 'envs');
  const sessions = path.join(abs, 'sessions');
  const processes = path.join(abs, 'processes');
  const jobs = path.join(abs, 'jobs');
  return {
    root: abs,
    envs,
    sessions,
    processes,
    jobs,
    content: path.join(abs, 'content'),
    // Per-call working directories for runs that name no environment; removed after each run.
    scratch: path.join(abs, 'scratch'),
    cache: path.join(abs, 'cache'),
    upstreams: path.join(abs, 'upstreams'),
    auditLog: path.join(abs, 'audit.log'),
    env: (id) => path.join(envs, id),
    session: (id) => path.join(sessions, id),
    process: (id) => path.join(processes, id),
    job: (id) => path.join(jobs, id),
  };
}
