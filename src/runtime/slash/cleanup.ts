import type { ContentStore } from '../content/content-store.js';
import type { ExecService } from '../exec/exec-service.js';

/**
 * /cleanup. What the caller owns (docs/slash-commands.md): a server has no per-caller identity
 * beyond its connection, so ownership is by server instance: the scratch directories of this
 * server's runs, and content items this server created. Always removed: scratch of finished runs
 * and expired content (anyone's: it is garbage). With `all`, also every content item created since
 * this server started (the output references its callers were given), except while a run is going.
 */
export interface CleanupReport {
  scratch_dirs_removed: number;
  content_removed: number;
  content_kept: number;
}

export async function cleanup(exec: ExecService, content: ContentStore, all: boolean): Promise<CleanupReport> {
  const scratch = await exec.cleanScratch();
  const before = await content.list();
  await content.enforceLimits();
  let after = await content.list();
  if (all && exec.runningCount === 0) {
    for (const item of after) if (Date.parse(item.created_at) >= exec.startedAt) await content.remove(item.ref_id);
    after = await content.list();
  }
  return { scratch_dirs_removed: scratch, content_removed: before.length - after.length, content_kept: after.length };
}
