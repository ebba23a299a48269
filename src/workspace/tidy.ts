import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths, safeName } from '../config';
import { envPaths, removeEnvironments } from './environment';
import { git, gitOut } from './git';
import { hubExists, hubRemote, requireHub } from './hub';
import { headRef, taskBranch } from './names';
import { pushRefs } from './remote';
import { diskUsage } from './worktree';

/**
 * How old an unreferenced hub object must be before gc may delete it. Never `--prune=now`: a fetch into the hub
 * (a checkpoint, an integration) writes its objects before the ref that makes them reachable, and a retried or
 * late activity may still be doing so. What a live workspace borrows from the hub is never unreferenced: its base
 * commits are reachable from the target, which only moves forward (and a move behind longrun's back is still held
 * by the guard ref), and a resumed task's checkpoint commits from its task branch, which is deleted only once the
 * task merged, i.e. once they are reachable from the target too. Objects a workspace made itself are in its own
 * repository. So the grace only has to cover writes in flight: hours, not git's default two weeks.
 */
export const HUB_PRUNE_GRACE = '2.hours.ago';

/**
 * The hub refs of tasks merged this cycle: their branch (`task/<id>`, which is also where checkpoints go) and any
 * private ref longrun keeps for that branch under refs/longrun/. A merged task's commits are in the target, so
 * deleting its refs frees no object a workspace needs. Every other task branch (failed, abandoned, blocked: work
 * a later cycle may resume) stays.
 */
export function mergedTaskRefs(refs: string[], mergedTaskIds: string[]): string[] {
  const heads = new Set(mergedTaskIds.map((id) => headRef(taskBranch(id))));
  const tails = [...heads].map((h) => `/${h.slice('refs/'.length)}`);
  return refs.filter(
    (ref) => heads.has(ref) || (ref.startsWith('refs/longrun/') && tails.some((t) => ref.endsWith(t))),
  );
}

/**
 * The start of the names of a run's transcripts in the artifact store: agent ids are `<runId>/c<cycle>/...`, made
 * safe. (A run id shaped like `<other>_c<n>_...` would share another run's prefix; ids are picked by the user, and
 * such a pair is not worth a registry of transcripts.)
 */
export const runTranscriptPrefix = (runId: string) => `${safeName(runId)}_c`;

/**
 * Deletes the merged tasks' refs from the hub, then garbage-collects it (repacks loose objects, drops unreferenced
 * ones past the grace). The hub turns auto-gc off (many git processes share it), so this between cycles, when no
 * agent of the run works, is its only gc. Returns the refs deleted.
 */
export async function tidyHub(
  home: string,
  runId: string,
  mergedTaskIds: string[],
  hubUrl?: string,
): Promise<string[]> {
  const hubPath = paths.hub(home, runId);
  // With a remote hub the refs go there (the mirror follows); a host without a mirror makes one to see them.
  const remote = await hubRemote(hubPath, runId, hubUrl);
  if (remote) await requireHub(home, runId, hubUrl);
  else if (!(await hubExists(hubPath))) return [];
  const refs = (await gitOut(hubPath, ['for-each-ref', '--format=%(refname)'])).split('\n').filter(Boolean);
  const doomed = mergedTaskRefs(refs, mergedTaskIds);
  if (doomed.length && remote) {
    await pushRefs(
      hubPath,
      remote,
      doomed.map((ref) => ({ ref, next: null })),
      'longrun: tidy merged tasks',
    );
  } else if (doomed.length) {
    await git(hubPath, ['update-ref', '--stdin'], { input: doomed.map((r) => `delete ${r}\n`).join('') });
  }
  await git(hubPath, ['gc', '--quiet', `--prune=${HUB_PRUNE_GRACE}`]);
  return doomed;
}

/**
 * Bytes of the run's hub, workspaces and caches (its prepared environments: the installs its checkouts link to) on
 * this host. Transcripts are counted by the artifact store.
 */
export async function runDiskUse(home: string, runId: string) {
  return {
    hubBytes: await diskUsage(paths.hub(home, runId)),
    worktreesBytes: await diskUsage(paths.worktrees(home, runId)),
    cachesBytes: (await diskUsage(paths.caches(home, runId))) + (await environmentsBytes(home, runId)),
  };
}

/** The run's prepared environments; not its recorded setting (a run without dependencies has no caches). */
async function environmentsBytes(home: string, runId: string): Promise<number> {
  const dir = envPaths.run(home, runId);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) {
    if (path.join(dir, name) !== envPaths.config(home, runId)) total += await diskUsage(path.join(dir, name));
  }
  return total;
}

/**
 * When the run ends (done, stopped, failed, cancelled): its caches go, whatever their keys; the hub and the
 * transcripts stay for the report, and setup logs stay in the artifact store. Returns the bytes freed. Idempotent.
 */
export async function removeRunCaches(home: string, runId: string): Promise<number> {
  const freed = (await runDiskUse(home, runId)).cachesBytes;
  await removeEnvironments(home, runId);
  await fs.rm(paths.caches(home, runId), { recursive: true, force: true, maxRetries: 3 });
  return freed;
}
