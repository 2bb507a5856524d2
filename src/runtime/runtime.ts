import { mkdir, rm } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { ContentStore } from './content/content-store.js';
import { EnvManager } from './envs/index.js';
import { ExecService } from './exec/exec-service.js';
import { randomBytes } from 'node:crypto';
import { LanguageRegistry } from './languages/registry.js';
import { createLogger, type Logger } from './logger.js';
import { detectCgroups, removeCgroupParents, type CgroupSupport } from './sandbox/cgroups.js';
import { ProcessManager } from './processes/process-manager.js';
import { JobRunner } from './jobs/job-runner.js';
import { AuditLog } from './store/audit.js';
import { fromEnvManager, type WorkspaceLocator } from './workspaces/locator.js';
import { WorkspaceFiles } from './workspaces/files.js';
import { dataLayout, type DataLayout } from './store/layout.js';
import { envSessionHost, type SessionHost } from './sessions/host.js';
import { SessionManager } from './sessions/session-manager.js';

/**
 * The domain, wired explicitly: every service hangs off the object this returns, so tests can
 * build as many runtimes as they like, each on its own data directory. Knows nothing of MCP.
 */
export interface Runtime {
  config: Config;
  layout: DataLayout;
  logger: Logger;
  cgroups: CgroupSupport;
  languages: LanguageRegistry;
  content: ContentStore;
  envs: EnvManager;
  exec: ExecService;
  /** Where each environment's workspace is. */
  locator: WorkspaceLocator;
  workspaces: WorkspaceFiles;
  processes: ProcessManager;
  jobs: JobRunner;
  sessions: SessionManager;
  audit: AuditLog;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  hostEnv?: NodeJS.ProcessEnv;
  /** Environments for sessions; defaults to the host's Python and <data>/envs/<id>/workspace. */
  sessionHost?: SessionHost;
  /** How long an interrupted cell may take to return to idle before it is killed (ms). */
  interruptGraceMs?: number;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const hostEnv = options.hostEnv ?? process.env;
  const layout = dataLayout(config.dataDir);
  await mkdir(layout.root, { recursive: true, mode: 0o700 });
  await Promise.all([layout.envs, layout.sessions, layout.processes, layout.jobs, layout.scratch].map((d) => mkdir(d, { recursive: true })));
  // Scratch directories of a previous server that died mid-run are garbage.
  await rm(layout.scratch, { recursive: true, force: true });
  await mkdir(layout.scratch, { recursive: true });

  const content = new ContentStore({
    dir: layout.content,
    ttlMs: config.contentTtlHours * 3_600_000,
    maxTotalBytes: config.contentMaxMb * 1048576,
  });
  await content.init();
  const cgroups = await detectCgroups(`${process.pid}-${randomBytes(3).toString('hex')}`, !config.cgroups);
  logger.debug('cgroups', { mode: cgroups.mode, detail: cgroups.detail });
  const languages = new LanguageRegistry(hostEnv.PATH ?? '/usr/bin:/bin');
  const envs = new EnvManager({ config, layout, logger, cgroups, content, hostEnv });
  const exec = new ExecService({ config, layout, content, languages, cgroups, hostEnv });
  const audit = new AuditLog(layout.auditLog);
  const locator: WorkspaceLocator = fromEnvManager(envs);
  const workspaces = new WorkspaceFiles(locator);
  const processes = new ProcessManager({ config, layout, cgroups, languages, exec, locator, logger, hostEnv });
  await processes.init();
  locator.onBeforeDestroy?.(async (envId) => {
    await processes.killEnv(envId);
  });
  const jobs = new JobRunner({ config, layout, exec, processes, workspaces, locator, logger });
  await jobs.init();
  const sessions = new SessionManager({
    config,
    layout,
    content,
    spawn: { cgroups, content },
    languages,
    exec,
    host: options.sessionHost ?? envSessionHost(envs),
    hostEnv,
    logger,
    interruptGraceMs: options.interruptGraceMs,
  });
  await sessions.init();
  // An environment's sessions end before it is destroyed, like its processes.
  envs.onBeforeDestroy(async (env) => {
    await sessions.destroyEnv(env.env_id);
    // Standby sandboxes bind the environment's directories.
    await exec.dropStandbys(layout.env(env.env_id));
  });

  return {
    config,
    layout,
    logger,
    cgroups,
    languages,
    content,
    envs,
    exec,
    locator,
    workspaces,
    processes,
    jobs,
    audit,
    sessions,
    async close() {
      await sessions.close();
      await jobs.close();
      await exec.close();
      await processes.close();
      await audit.close();
      await removeCgroupParents(cgroups);
    },
  };
}
