import { statusJson } from '../../src/cli/commands/status';
import { PLAIN } from '../../src/cli/lib/format';
import { buildReport, reportLines, summaryLines } from '../../src/cli/lib/report';
import { exitCodeOf } from '../../src/cli/lib/watch';
import type { RunResult } from '../../src/workflows/definitions';
import { snap, view } from './fixtures';

describe('the report and exit codes', () => {
  const result: RunResult = {
    runId: 'r',
    status: 'done',
    reason: 'all merged',
    cycles: 1,
    tasks: { merged: 2, failed: 1, abandoned: 0 },
    commits: 2,
    usage: {
      worker: {
        calls: 3,
        inputTokens: 1000,
        outputTokens: 100,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0.5,
        unpricedCalls: 0,
      },
    },
    costUsd: 0.5,
    finalVerdict: null,
    lastReceipt: null,
    resultBranch: 'longrun/r',
    history: [
      {
        cycle: 1,
        tasks: { merged: 2, failed: 1, abandoned: 0 },
        refusedDone: false,
        plannerError: null,
        durationMs: 5_000,
        receipt: {
          commit: 'abcdef1234',
          command: 'npm test',
          exitCode: 0,
          passed: true,
          timedOut: false,
          durationMs: 900,
          outputTail: '',
        },
        checks: [
          { commit: 'aaaa', passed: true, exitCode: 0, timedOut: false, durationMs: 800, at: 1 },
          { commit: 'bbbb', passed: false, exitCode: 1, timedOut: false, durationMs: 700, at: 2 },
        ],
        verdict: { decision: 'done', reasons: ['all merged'], nextFocus: '', scratchpad: '' },
        unmerged: [
          {
            taskId: 'c1/planner/t3',
            title: 'Add max()',
            status: 'failed',
            summary: 'Could not merge after 3 conflict rounds.',
          },
        ],
        usage: {
          calls: 3,
          inputTokens: 1000,
          outputTokens: 100,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          costUsd: 0.5,
          unpricedCalls: 0,
        },
      },
    ],
  };

  test('a finished run: unmerged tasks with reasons, cycles with verdicts and receipts', () => {
    const s = snap({
      view: null,
      workflowStatus: 'COMPLETED',
      result,
      closeTime: new Date(60_000),
      memo: { models: { worker: { provider: 'anthropic', model: 'claude-haiku-4-5' } } },
    });
    const rep = buildReport(s, { input: { repo: '/repo', goal: 'Add helpers' }, carry: null }, 'http://ui/r');
    expect(rep).toMatchObject({
      status: 'done',
      finished: true,
      durationMs: 60_000,
      goal: 'Add helpers',
      repo: '/repo',
      cycles: 1,
      commits: 2,
    });
    expect(rep.unmerged).toEqual([
      {
        cycle: 1,
        taskId: 'c1/planner/t3',
        title: 'Add max()',
        status: 'failed',
        summary: 'Could not merge after 3 conflict rounds.',
      },
    ]);
    expect(rep.history[0].receipt).toEqual({
      command: 'npm test',
      commit: 'abcdef1234',
      passed: true,
      exitCode: 0,
      timedOut: false,
      durationMs: 900,
    });
    const text = reportLines(rep, PLAIN).join('\n');
    expect(text).toContain('r  done  after 1 cycle(s) in 1m00s: all merged');
    expect(text).toContain('passed  npm test @ abcdef1');
    expect(text).toMatch(/worker\s+anthropic:claude-haiku-4-5\s+3\s+1000\s+100\s+\$0\.5000/);
    expect(text).toMatch(/c1\/planner\/t3\s+failed\s+Add max\(\)\s+Could not merge/);
    expect(summaryLines(rep, PLAIN).join('\n')).toContain('unmerged  1 task(s)');
    expect(rep.history[0].checks.map((c) => [c.commit, c.passed])).toEqual([
      ['aaaa', true],
      ['bbbb', false],
    ]);
    expect(summaryLines(rep, PLAIN).join('\n')).toMatch(/checks\s+2 while working, 1 red/);
    expect(exitCodeOf(s)).toBe(0);
  });

  test('a failed workflow exits 1; stopped and budget-limited runs exit 0', () => {
    expect(exitCodeOf(snap({ view: null, failure: 'terminated: by hand' }))).toBe(1);
    expect(exitCodeOf(snap({ view: null, result: { ...result, status: 'stopped' } }))).toBe(0);
    expect(exitCodeOf(snap({ view: null, result: { ...result, status: 'budget_exhausted' } }))).toBe(0);
  });
});

describe('the report of a running run', () => {
  test('cycles so far come from the carried state; totals from the status query', () => {
    const record = {
      cycle: 1,
      tasks: { merged: 6, failed: 0, abandoned: 0 },
      refusedDone: false,
      plannerError: null,
      durationMs: 29_000,
      receipt: null,
      verdict: { decision: 'continue' as const, reasons: ['more to do'], nextFocus: '', scratchpad: '' },
      unmerged: [],
      usage: {
        calls: 1,
        inputTokens: 1,
        outputTokens: 1,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0.05,
        unpricedCalls: 0,
      },
    };
    const carry = {
      run: { startedAt: 1_000, goal: 'Add helpers', repo: '/repo' },
      cycles: [record],
      usage: {},
      commits: 6,
    } as never;
    const s = snap({
      view: view({ cycle: 2, tasks: { running: 1, merged: 6, failed: 0, abandoned: 0 }, commits: 6, costUsd: 0.06 }),
    });
    const rep = buildReport(s, { input: null, carry }, 'http://ui/r', 61_000);
    expect(rep).toMatchObject({
      status: 'running',
      finished: false,
      cycles: 2,
      startedAt: new Date(1_000).toISOString(),
      durationMs: 60_000,
      costUsd: 0.06,
    });
    expect(Object.keys(rep.tasks)).toEqual(['merged', 'failed', 'abandoned', 'running', 'notAttempted']);
    expect(rep.history.map((c) => c.verdict?.decision)).toEqual(['continue']);
    expect(summaryLines(rep, PLAIN)[0]).toBe('r  running  in cycle 2, 1m00s so far');
  });
});

describe("a run's disk use in report and status", () => {
  const usage = {
    calls: 1,
    inputTokens: 1,
    outputTokens: 1,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0.05,
    unpricedCalls: 0,
  };
  const disk = (totalBytes: number) => ({
    hubBytes: totalBytes - 1024,
    worktreesBytes: 0,
    cachesBytes: 0,
    transcriptsBytes: 1024,
    totalBytes,
    at: 5_000,
  });
  const cycle = (n: number, d?: ReturnType<typeof disk>) => ({
    cycle: n,
    tasks: { merged: 1, failed: 0, abandoned: 0 },
    refusedDone: false,
    plannerError: null,
    durationMs: 1_000,
    receipt: null,
    verdict: null,
    unmerged: [],
    usage,
    ...(d ? { disk: d } : {}),
  });

  test("finished: the latest measured cycle's, per cycle in the report, in its lines and in status --json", () => {
    // Cycle 3's tidy failed: the run's disk use is cycle 2's.
    const history = [cycle(1), cycle(2, disk(3 * 1024 * 1024)), cycle(3)];
    const result: RunResult = {
      runId: 'r',
      status: 'done',
      reason: 'ok',
      cycles: 3,
      tasks: { merged: 3, failed: 0, abandoned: 0 },
      commits: 3,
      usage: {},
      costUsd: 0,
      finalVerdict: null,
      lastReceipt: null,
      resultBranch: 'longrun/r',
      history,
    };
    const s = snap({ view: null, workflowStatus: 'COMPLETED', result, closeTime: new Date(60_000) });
    const rep = buildReport(s, { input: null, carry: null }, 'http://ui/r');
    expect(rep.disk).toEqual(disk(3 * 1024 * 1024));
    expect(rep.history.map((c) => c.disk?.totalBytes ?? null)).toEqual([null, 3 * 1024 * 1024, null]);
    expect(reportLines(rep, PLAIN).join('\n')).toMatch(
      /disk +3\.0 MB \(hub 3\.0 MB · worktrees 0 B · caches 0 B · transcripts 1\.0 KB\)/,
    );
    expect(statusJson(s, 'http://ui/r').disk).toEqual(disk(3 * 1024 * 1024));
  });

  test('running: the status query says it; none measured yet is null, and no line', () => {
    const measured = snap({ view: view({ disk: disk(2048) }) });
    expect(buildReport(measured, { input: null, carry: null }, 'http://ui/r').disk).toEqual(disk(2048));
    expect(statusJson(measured, 'http://ui/r').disk).toEqual(disk(2048));
    const fresh = snap({ view: view({}) });
    const rep = buildReport(fresh, { input: null, carry: null }, 'http://ui/r');
    expect(rep.disk).toBeNull();
    expect(summaryLines(rep, PLAIN).join('\n')).not.toContain('disk');
    expect(statusJson(fresh, 'http://ui/r').disk).toBeNull();
  });
});
