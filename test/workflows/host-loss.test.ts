import {
  beginMove,
  endMove,
  movedId,
  settle,
  toMove,
  watchedHosts,
  type Watched,
} from '../../src/workflows/lib/host-loss';

const T1 = 'run/c1/planner/t1';

describe('ids of moved agents', () => {
  it('are hierarchical: the child id with ~m<n>, whatever attempt was lost', () => {
    expect(movedId(T1, 1)).toBe(`${T1}~m1`);
    expect(movedId(`${T1}~m1`, 2)).toBe(`${T1}~m2`);
    expect(movedId('run/c1/planner~m1/s2', 1)).toBe('run/c1/planner~m1/s2~m1');
  });
});

describe('which children to move', () => {
  const kids = (): Array<[string, Watched]> => [
    ['t1', { attempt: 't1', host: 'q@a' }],
    ['t2', { attempt: 't2', host: 'q@b' }],
    ['t3', { attempt: 't3~m1', host: 'q@b' }],
    ['t4', { attempt: 't4' }], // its host is still being picked
    ['t5', { attempt: 't5', host: 'q@c', moving: true }],
  ];

  it('checks each host of a running child once, not those being picked or moved', () => {
    expect(watchedHosts(kids().map(([, w]) => w))).toEqual(['q@a', 'q@b']);
    expect(watchedHosts([])).toEqual([]);
  });

  it('moves every child on a lost host, and none twice', () => {
    const children = kids();
    expect(toMove(children, ['q@b']).map(([k]) => k)).toEqual(['t2', 't3']);
    beginMove(children[1][1]);
    expect(toMove(children, ['q@b']).map(([k]) => k)).toEqual(['t3']);
    expect(toMove(children, ['q@c', 'q@z'])).toEqual([]);
  });
});

describe('exactly one outcome per child', () => {
  it('a terminated attempt: its failure is dropped, the restarted attempt delivers', () => {
    const w: Watched = { attempt: T1, host: 'q@b' };
    expect(beginMove(w)).toEqual({ attempt: T1, from: 'q@b' });
    // The termination's failure may arrive before the abandon's answer...
    expect(settle(w, T1, { err: 'terminated' })).toBe('held');
    expect(endMove(T1, w, 'q@b', { terminated: true })).toEqual({
      kind: 'restart',
      workflowId: `${T1}~m1`,
      moved: { from: 'q@b', count: 1 },
    });
    // ...or after it: either way it is stale.
    expect(settle(w, T1, { err: 'terminated' })).toBe('stale');
    expect(w.held).toBeUndefined();
    w.host = 'q@a';
    expect(settle(w, `${T1}~m1`, { out: 'handoff' })).toBe('deliver');
  });

  it('a second move counts on, from the original child id', () => {
    const w: Watched = { attempt: `${T1}~m1`, host: 'q@a', moves: 1 };
    beginMove(w);
    expect(endMove(T1, w, 'q@a', { terminated: true })).toMatchObject({
      workflowId: `${T1}~m2`,
      moved: { from: 'q@a', count: 2 },
    });
    expect(settle(w, `${T1}~m1`, { out: 'late' })).toBe('stale');
  });

  it('an attempt that closed on its own meanwhile keeps its outcome and is not restarted', () => {
    const w: Watched = { attempt: T1, host: 'q@b' };
    beginMove(w);
    expect(settle(w, T1, { out: 'merged handoff' })).toBe('held');
    expect(endMove(T1, w, 'q@b', { terminated: false })).toEqual({
      kind: 'deliver',
      outcome: { out: 'merged handoff' },
    });
    expect(w.attempt).toBe(T1);

    const v: Watched = { attempt: T1, host: 'q@b' };
    beginMove(v);
    expect(endMove(T1, v, 'q@b', { terminated: false })).toEqual({ kind: 'wait' });
    expect(settle(v, T1, { out: 'merged handoff' })).toBe('deliver'); // it comes later, once
  });

  it('an abandon that failed leaves the child watched on its host, for the next check to retry', () => {
    const w: Watched = { attempt: T1, host: 'q@b' };
    beginMove(w);
    expect(watchedHosts([w])).toEqual([]);
    expect(endMove(T1, w, 'q@b', 'failed')).toEqual({ kind: 'wait' });
    expect(w).toEqual({ attempt: T1, host: 'q@b', moving: false });
    expect(toMove([['t1', w]], ['q@b'])).toHaveLength(1);
  });
});
