/**
 * A run's disk use and the tidy step's transcript decisions, without I/O (workflows import it for the Web UI's
 * details; src/activities/tidy.ts does the work; unit-tested in test/core/disk.test.ts).
 */

/** Bytes on disk of one run, by what holds them; measured by the tidy step after each cycle. */
export interface DiskUse {
  hubBytes: number;
  worktreesBytes: number;
  cachesBytes: number;
  transcriptsBytes: number;
  totalBytes: number;
  /** When it was measured (ms since the epoch). */
  at: number;
}

/**
 * Between cycles every transcript of the run is finished (the cycle's planner tree and judge have returned): the
 * written ones are archived, and archives older than the retention are removed. null retention keeps them.
 */
export function transcriptsToTidy(
  transcripts: Array<{ name: string; archived: boolean; mtimeMs: number }>,
  now: number,
  retentionHours: number | null,
): { archive: string[]; remove: string[] } {
  const expired = (mtimeMs: number) => retentionHours !== null && now - mtimeMs >= retentionHours * 3_600_000;
  return {
    archive: transcripts.filter((t) => !t.archived).map((t) => t.name),
    remove: transcripts.filter((t) => t.archived && expired(t.mtimeMs)).map((t) => t.name),
  };
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 KB". */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** One line for status, report and the Web UI: total first, then where it is. */
export function describeDisk(d: DiskUse): string {
  return (
    `${formatBytes(d.totalBytes)} (hub ${formatBytes(d.hubBytes)} · worktrees ${formatBytes(d.worktreesBytes)} · ` +
    `caches ${formatBytes(d.cachesBytes)} · transcripts ${formatBytes(d.transcriptsBytes)})`
  );
}
