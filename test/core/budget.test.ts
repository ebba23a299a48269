import {
  add,
  carve,
  estimateCall,
  exhausted,
  refuseCall,
  remaining,
  spentLease,
  subtract,
} from '../../src/core/budget';
import type { ResolvedModel } from '../../src/core/types';
import { emptyUsage } from '../../src/core/usage';

const model: ResolvedModel = {
  provider: 'openai',
  model: 'm',
  maxTokens: 1_000,
  contextWindow: 100_000,
  price: { inputPerMTok: 1, outputPerMTok: 10, cacheReadPerMTok: 0.1, cacheWritePerMTok: 1 },
};
const spent = (costUsd: number, inputTokens = 0) => ({ ...emptyUsage(), costUsd, inputTokens });

describe('leases and budgets', () => {
  it('estimates the worst case of a call: the whole context in, maxTokens out, at list prices', () => {
    expect(estimateCall(model, 9_000)).toEqual({ tokens: 10_000, costUsd: 0.019 });
    expect(estimateCall({ ...model, price: null }, 9_000)).toEqual({ tokens: 10_000, costUsd: 0 });
  });

  it('refuses a call past the deadline, or one whose worst case does not fit the cost or token budget', () => {
    const lease = { costUsd: 1, tokens: 20_000, deadline: 100 };
    expect(refuseCall(lease, spent(0), model, 9_000, 0)).toBeNull();
    expect(refuseCall(lease, spent(0), model, 9_000, 100)).toBe('the run reached maxWallHours');
    expect(refuseCall(lease, spent(0.99), model, 9_000, 0)).toMatch(/may cost up to \$0\.0190 and only \$0\.0100/);
    expect(refuseCall(lease, spent(0, 15_000), model, 9_000, 0)).toMatch(/up to 10000 tokens and only 5000 are left/);
    expect(refuseCall({ costUsd: null, tokens: null, deadline: 100 }, spent(1e6, 1e9), model, 9_000, 0)).toBeNull();
  });

  it('carves an equal share among ways, at least one worst-case call when free allows, never more than free', () => {
    const free = { costUsd: 8, tokens: null, deadline: 5 };
    expect(carve(free, 4, { costUsd: 1, tokens: 0 })).toEqual({ costUsd: 2, tokens: null, deadline: 5 });
    expect(carve(free, 16, { costUsd: 1, tokens: 0 })).toEqual({ costUsd: 1, tokens: null, deadline: 5 });
    expect(carve({ ...free, costUsd: 0.5 }, 2, { costUsd: 1, tokens: 0 }).costUsd).toBe(0.5);
    expect(carve(free, 0, { costUsd: 0, tokens: 0 }).costUsd).toBe(8);
  });

  it('subtracts, adds and takes what remains without going below zero; null stays unlimited', () => {
    const a = { costUsd: 3, tokens: 100, deadline: 9 };
    expect(subtract(a, { costUsd: 5, tokens: 10, deadline: 0 })).toEqual({ costUsd: 0, tokens: 90, deadline: 9 });
    expect(add(a, { costUsd: null, tokens: 5, deadline: 0 })).toEqual({ costUsd: 3, tokens: 105, deadline: 9 });
    expect(remaining({ costUsd: null, tokens: 50, deadline: 9 }, spent(2, 80))).toEqual({
      costUsd: null,
      tokens: 0,
      deadline: 9,
    });
    expect(spentLease(spent(2, 80), 7)).toEqual({ costUsd: 2, tokens: 80, deadline: 7 });
  });

  it('is exhausted when not even one call fits, or the deadline passed', () => {
    const min = { costUsd: 1, tokens: 10 };
    expect(exhausted({ costUsd: 1, tokens: 10, deadline: 5 }, min, 4)).toBe(false);
    expect(exhausted({ costUsd: 0.9, tokens: null, deadline: 5 }, min, 4)).toBe(true);
    expect(exhausted({ costUsd: null, tokens: 9, deadline: 5 }, min, 4)).toBe(true);
    expect(exhausted({ costUsd: null, tokens: null, deadline: 5 }, min, 5)).toBe(true);
  });
});
