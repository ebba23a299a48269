import { addCall, addCallByRole, emptyUsage, mergeByRole, tokensOf, totalOf } from '../../src/core/usage';

const call = (costUsd: number | null) => ({
  inputTokens: 10,
  outputTokens: 2,
  cacheReadTokens: 3,
  cacheWriteTokens: 1,
  costUsd,
});

describe('usage sums', () => {
  it('adds calls, counting unpriced ones apart', () => {
    const u = addCall(addCall(emptyUsage(), call(0.5)), call(null));
    expect(u).toEqual({
      calls: 2,
      inputTokens: 20,
      outputTokens: 4,
      cacheReadTokens: 6,
      cacheWriteTokens: 2,
      costUsd: 0.5,
      unpricedCalls: 1,
    });
    expect(tokensOf(u)).toBe(32);
  });

  it('merges usage by role and totals it', () => {
    const a = addCallByRole({}, 'worker', call(1));
    const b = addCallByRole(addCallByRole({}, 'worker', call(2)), 'judge', call(4));
    const m = mergeByRole(a, b);
    expect(m.worker?.calls).toBe(2);
    expect(m.worker?.costUsd).toBe(3);
    expect(m.judge?.costUsd).toBe(4);
    expect(totalOf(m)).toMatchObject({ calls: 3, costUsd: 7, inputTokens: 30 });
    expect(totalOf({})).toEqual(emptyUsage());
    expect(a.worker?.calls).toBe(1); // inputs are not changed
  });
});
