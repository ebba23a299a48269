import { describeDisk, formatBytes, transcriptsToTidy } from '../../src/core/disk';
import { mergedTaskRefs, runTranscriptPrefix } from '../../src/workspace/tidy';

const HOUR = 3_600_000;

describe('mergedTaskRefs', () => {
  const refs = [
    'refs/heads/longrun/r1',
    'refs/heads/task/c1_planner_t0',
    'refs/heads/task/c1_planner_t1',
    'refs/heads/task/c1_planner_t10',
    'refs/longrun/guard/heads/longrun/r1',
    'refs/longrun/published/longrun/r1',
    'refs/longrun/checkpoint/heads/task/c1_planner_t0',
  ];

  test("only the merged tasks' branches and their private refs; never the target, its guard or another task", () => {
    expect(mergedTaskRefs(refs, ['c1/planner/t0'])).toEqual([
      'refs/heads/task/c1_planner_t0',
      'refs/longrun/checkpoint/heads/task/c1_planner_t0',
    ]);
    // t1 is not a prefix match for t10, and an id with no branch deletes nothing.
    expect(mergedTaskRefs(refs, ['c1/planner/t1', 'c1/planner/t9'])).toEqual(['refs/heads/task/c1_planner_t1']);
    expect(mergedTaskRefs(refs, [])).toEqual([]);
  });

  test("a run's transcripts prefix is its safe id and the cycle marker", () => {
    expect(runTranscriptPrefix('my-run')).toBe('my-run_c');
  });
});

describe('transcriptsToTidy', () => {
  const now = 100 * HOUR;
  const list = [
    { name: 'r_c2_planner', archived: false, mtimeMs: now - 200 * HOUR },
    { name: 'r_c1_planner', archived: true, mtimeMs: now - 48 * HOUR },
    { name: 'r_c1_judge', archived: true, mtimeMs: now - 23 * HOUR },
  ];

  test('every written transcript is archived; archives at or past the retention are removed', () => {
    expect(transcriptsToTidy(list, now, 24)).toEqual({ archive: ['r_c2_planner'], remove: ['r_c1_planner'] });
    expect(transcriptsToTidy(list, now, 23)).toEqual({
      archive: ['r_c2_planner'],
      remove: ['r_c1_planner', 'r_c1_judge'],
    });
  });

  test('null retention keeps every archive; 0 removes them at the next tidy', () => {
    expect(transcriptsToTidy(list, now, null).remove).toEqual([]);
    expect(transcriptsToTidy(list, now, 0).remove).toEqual(['r_c1_planner', 'r_c1_judge']);
  });
});

describe('disk use lines', () => {
  test('bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TB');
  });

  test('total first, then each part', () => {
    const d = { hubBytes: 2048, worktreesBytes: 0, cachesBytes: 512, transcriptsBytes: 1024, totalBytes: 3584, at: 0 };
    expect(describeDisk(d)).toBe('3.5 KB (hub 2.0 KB · worktrees 0 B · caches 512 B · transcripts 1.0 KB)');
  });
});
