import type { LongrunConfig } from '../config';
import { transcriptsToTidy, type DiskUse } from '../core/disk';
import { TranscriptArchive, type ArtifactStore } from '../store/artifacts';
import { removeRunCaches, runDiskUse, runTranscriptPrefix, tidyHub } from '../workspace/tidy';

export interface TidyRunInput {
  runId: string;
  /** Tasks merged this cycle (from the cycle's handoffs): their hub branches go. */
  mergedTaskIds: string[];
  /** limits.transcriptRetentionHours; null keeps archived transcripts. */
  retentionHours: number | null;
}

export interface TidyRunResult {
  deletedRefs: string[];
  archivedTranscripts: number;
  removedTranscripts: number;
  disk: DiskUse;
}

/**
 * The tidy step between cycles, on the run's host: merged tasks' refs leave the hub and the hub is gc'd, finished
 * transcripts are archived and old archives removed, then the run's disk use is measured. Idempotent: a retry finds
 * the refs gone and the transcripts archived.
 */
export function createTidyActivities(deps: { config: LongrunConfig; store: ArtifactStore; now?: () => number }) {
  const archive = new TranscriptArchive(deps.store);
  const now = deps.now ?? Date.now;
  return {
    async tidyRun(input: TidyRunInput): Promise<TidyRunResult> {
      const { runId } = input;
      const deletedRefs = await tidyHub(deps.config.home, runId, input.mergedTaskIds, deps.config.hubUrl);
      const prefix = runTranscriptPrefix(runId);
      const plan = transcriptsToTidy(await archive.list(prefix), now(), input.retentionHours);
      for (const name of plan.archive) await archive.archive(name);
      // Archived just now: mtime is now, so a fresh archive is never removed by the same step unless retention is 0.
      const left = transcriptsToTidy(await archive.list(prefix), now(), input.retentionHours);
      for (const name of left.remove) await archive.remove(name);
      const transcriptsBytes = (await archive.list(prefix)).reduce((n, t) => n + t.bytes, 0);
      const parts = await runDiskUse(deps.config.home, runId);
      const totalBytes = parts.hubBytes + parts.worktreesBytes + parts.cachesBytes + transcriptsBytes;
      return {
        deletedRefs,
        archivedTranscripts: plan.archive.length,
        removedTranscripts: left.remove.length,
        disk: { ...parts, transcriptsBytes, totalBytes, at: now() },
      };
    },

    /** At the end of the run: its dependency caches go (the state dir is shared by the run's hosts). */
    async removeRunCaches(input: { runId: string }): Promise<{ freedBytes: number }> {
      return { freedBytes: await removeRunCaches(deps.config.home, input.runId) };
    },
  };
}
