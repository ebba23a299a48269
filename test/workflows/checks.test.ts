import type { Receipt } from '../../src/core/types';
import {
  CHECKS_KEPT,
  checkDue,
  describeHealth,
  fallbackFixer,
  initialChecks,
  knownRedOf,
  onFixerEnded,
  onFixerStarted,
  isRedAlert,
  onMerge,
  onReceipt,
  redAlert,
  startCheck,
  type CheckState,
} from '../../src/workflows/lib/checks';

const receipt = (commit: string, passed: boolean, outputTail = ''): Receipt => ({
  command: 'node test.js',
  commit,
  exitCode: passed ? 0 : 1,
  passed,
  timedOut: false,
  durationMs: 5,
  outputTail,
});
const merge = (s: CheckState, n: number) => onMerge(s, { taskId: `t${n}`, title: `task ${n}`, commit: `c${n}` });

describe('checkDue', () => {
  it('is due after everyMerges merges, or on the timer when something merged', () => {
    let s = initialChecks();
    expect(checkDue(s, { everyMerges: 2 }, true)).toBe(false); // nothing merged: the timer alone is not worth a check
    s = merge(s, 1);
    expect(checkDue(s, { everyMerges: 2 }, false)).toBe(false);
    expect(checkDue(s, { everyMerges: 2 }, true)).toBe(true);
    s = merge(s, 2);
    expect(checkDue(s, { everyMerges: 2 }, false)).toBe(true);
    expect(checkDue(s, { everyMerges: 0 }, false)).toBe(false); // 0 turns the merge trigger off
    expect(checkDue(startCheck(s), { everyMerges: 2 }, false)).toBe(false); // a started check resets the count
  });
});

describe('onReceipt', () => {
  it('reports a break once, with the merges since the last green commit that the check covered as suspects', () => {
    let s = merge(initialChecks(), 1);
    s = startCheck(s);
    let r = onReceipt(s, receipt('g1', true), 100);
    expect(r.event).toEqual({ kind: 'green', commit: 'g1', fixed: false });
    s = merge(merge(r.state, 2), 3);
    s = startCheck(s);
    s = merge(s, 4); // merged while the check ran: not in its commit, not a suspect of this break
    r = onReceipt(s, receipt('r1', false), 200);
    expect(r.event).toEqual({
      kind: 'break',
      commit: 'r1',
      suspects: [
        { taskId: 't2', title: 'task 2', commit: 'c2' },
        { taskId: 't3', title: 'task 3', commit: 'c3' },
      ],
    });
    expect(r.state.red).toMatchObject({ commit: 'r1', since: 200 });
    expect(r.state.green).toBe('g1');
    // Still red: no second alert for the same break.
    const again = onReceipt(startCheck(r.state), receipt('r2', false), 300);
    expect(again.event).toEqual({ kind: 'still-red', commit: 'r2' });
    expect(again.state.red?.commit).toBe('r1');
    // Fixed: green again, the break closes and only merges after the checked commit stay suspects.
    const fixed = onReceipt(startCheck(merge(again.state, 5)), receipt('g2', true), 400);
    expect(fixed.event).toEqual({ kind: 'green', commit: 'g2', fixed: true });
    expect(fixed.state.red).toBeNull();
    expect(fixed.state.suspects).toEqual([]);
    expect(fixed.state.checks.map((c) => [c.commit, c.passed])).toEqual([
      ['g1', true],
      ['r1', false],
      ['r2', false],
      ['g2', true],
    ]);
  });

  it('does not blame anyone when the target was never green in the run', () => {
    const r = onReceipt(startCheck(merge(initialChecks(), 1)), receipt('r0', false), 1);
    expect(r.event).toEqual({ kind: 'red-from-start', commit: 'r0' });
    expect(r.state.red).toBeNull();
  });

  it("blames the run's merges since its base when no check has been green yet (a break before the first check)", () => {
    const s = startCheck(merge(initialChecks(), 2));
    const r = onReceipt(s, receipt('r0', false), 1, 'base');
    expect(r.event).toEqual({ kind: 'break', commit: 'r0', suspects: s.suspects });
    expect(r.state.red).toMatchObject({ commit: 'r0', suspects: s.suspects });
    expect(onReceipt(startCheck(r.state), receipt('r1', false), 2, 'base').event.kind).toBe('still-red');
    const alert = redAlert({ ...receipt('r0', false), outputTail: 'boom' }, 'base', s.suspects, '', true);
    expect(alert).toMatch(/no check of this run has passed yet: the suspects are this run's merges since its base/);
    expect(fallbackFixer(r.state, 'npm test').description).toMatch(/no check of this run has passed yet/);
  });

  it('carries the target health across cycles and keeps only the latest checks', () => {
    let s = initialChecks({ green: 'g0', red: null });
    for (let i = 0; i < CHECKS_KEPT + 5; i++) s = onReceipt(s, receipt(`g${i + 1}`, true), i).state;
    expect(s.checks).toHaveLength(CHECKS_KEPT);
    expect(s.checks.at(-1)?.commit).toBe(`g${CHECKS_KEPT + 5}`);
    const broken = onReceipt(startCheck(merge(s, 9)), receipt('r', false), 99);
    expect(broken.event.kind).toBe('break');
    expect(describeHealth(broken.state)).toMatch(/^target RED since r/);
  });
});

describe('redAlert', () => {
  it('names the failing command, both commits, the suspects, the files and the failing output', () => {
    const text = redAlert(
      receipt('0123456789abcdef', false, 'AssertionError: 2 !== 3\n'),
      'fedcba9876543210',
      [{ taskId: 'run/c1/t2', title: 'Add max()', commit: 'aaaabbbbccccdddd' }],
      ' lib/max.js | 2 +-\n',
    );
    expect(isRedAlert(text)).toBe(true);
    expect(text).toContain('`node test.js` fails on the target at 0123456789ab; it passed at fedcba987654');
    expect(text).toContain('exactly ONE task that fixes this break, with "fixes": "0123456789ab"');
    expect(text).toContain('- run/c1/t2: Add max() (merged as aaaabbbbcccc)');
    expect(text).toContain('lib/max.js | 2 +-');
    expect(text).toContain('AssertionError: 2 !== 3');
    expect(isRedAlert('Add a LICENSE')).toBe(false);
  });
});

describe('one owner per break', () => {
  const broken = () => {
    let s = onReceipt(startCheck(merge(initialChecks(), 1)), receipt('g1', true), 1).state;
    s = startCheck(merge(s, 2));
    return onReceipt(s, receipt('0123456789abcdef', false, 'FAIL x'), 2).state;
  };

  it('takes as fixer the first started agent whose spec names the open break, and no other', () => {
    const s = broken();
    expect(onFixerStarted(s, 'ffffffffffff', 'Other')).toBe(s); // another break
    const owned = onFixerStarted(s, '0123456789ab', 'Fix it');
    expect(owned.red?.fixer).toBe('Fix it');
    expect(describeHealth(owned)).toBe('target RED since 0123456789ab, fixer: Fix it (2 check(s) this cycle)');
    expect(onFixerStarted(owned, '0123456789ab', 'Fix it again').red?.fixer).toBe('Fix it');
    expect(onFixerStarted(initialChecks(), '0123456789ab', 'x').red).toBeNull(); // nothing is red
  });

  it("longrun's fixer names the break, the suspects and the command; a new cycle owns the break afresh", () => {
    const s = broken();
    const spec = fallbackFixer(s, 'node test.js');
    expect(spec.fixes).toBe('0123456789ab');
    expect(spec.title).toBe('Fix the break of `node test.js` at 0123456789ab');
    expect(spec.description).toContain('- task 2 (merged as c2)');
    expect(spec.description).not.toContain('task 1');
    expect(spec.acceptance).toEqual(['`node test.js` passes']);
    const next = initialChecks({ green: s.green, red: { ...s.red!, fixer: 'Fix it', fallback: true } });
    expect(next.red).toMatchObject({ commit: '0123456789abcdef', fixer: null, fallback: false });
  });

  it("the known-red record carries the break's id, command, output and suspects, with no fixer yet", () => {
    const s = broken();
    expect(knownRedOf(receipt('0123456789abcdef', false, 'x'.repeat(5_000)), s.red!.suspects)).toEqual({
      id: '0123456789ab',
      command: 'node test.js',
      outputTail: 'x'.repeat(1_500),
      suspects: ['task 2'],
      fixer: null,
    });
  });

  it('reports a break again when a check started after its fixer ended is still red, blaming the merges since', () => {
    let s = onFixerStarted(broken(), '0123456789ab', 'Fix it');
    s = merge(s, 3); // merged while the fixer worked: perhaps a second break
    const stillBefore = onReceipt(startCheck(s), receipt('r2', false), 3, undefined, true);
    expect(stillBefore.event.kind).toBe('still-red'); // the fixer has not ended: its fix is not in this commit
    s = onFixerEnded(stillBefore.state, 'Other task'); // not the fixer: changes nothing
    expect(s.red?.fixerEnded).toBeUndefined();
    s = onFixerEnded(onMerge(s, { taskId: 't9', title: 'Fix it', commit: 'c9' }), 'Fix it');
    // A check that started before the fixer ended does not include the fix: still the same break.
    expect(onReceipt(s, receipt('r3', false), 4, undefined, true).event.kind).toBe('still-red');
    s = startCheck(s);
    const renewed = onReceipt(s, receipt('fedcba9876543210', false, 'FAIL y'), 5, undefined, true);
    expect(renewed.event).toEqual({
      kind: 'break',
      commit: 'fedcba9876543210',
      suspects: [
        { taskId: 't3', title: 'task 3', commit: 'c3' },
        { taskId: 't9', title: 'Fix it', commit: 'c9' },
      ],
      after: { fixer: 'Fix it', since: '0123456789abcdef' },
    });
    expect(renewed.state.red).toMatchObject({ commit: 'fedcba9876543210', reported: 3 });
    expect(renewed.state.red?.fixer).toBeUndefined(); // owned afresh
    // Runs before v0.2.1 (no renewAfterFix): the same receipt is the old break, still red.
    expect(onReceipt(s, receipt('fedcba9876543210', false), 5).event.kind).toBe('still-red');
    const alert = redAlert(receipt('fedcba9876543210', false, 'FAIL y'), 'g1', [], '', false, {
      fixer: 'Fix it',
      since: '0123456789abcdef',
    });
    expect(alert).toContain('The fixer of the break since 0123456789ab ("Fix it") has ended and the tests still fail');
    expect(alert).toContain('"fixes": "fedcba987654"');
  });

  it('a fixer that ends without merging leaves the suspects of the first report', () => {
    let s = onFixerEnded(onFixerStarted(broken(), '0123456789ab', 'Fix it'), 'Fix it');
    s = startCheck(s);
    const renewed = onReceipt(s, receipt('r9', false), 6, undefined, true);
    expect(renewed.event).toMatchObject({ kind: 'break', suspects: [{ taskId: 't2', title: 'task 2', commit: 'c2' }] });
  });
});
