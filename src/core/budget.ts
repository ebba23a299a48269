import type { ResolvedModel, Usage } from './types';
import { tokensOf } from './usage';

/**
 * A lease: the share of the run's budget one workflow may spend. Planners lease budget to their children and
 * get back what is left when the child ends, so the sum of live leases never exceeds the run's budget and no
 * workflow needs to ask another before a model call. null = unlimited.
 */
export interface Lease {
  costUsd: number | null;
  tokens: number | null;
  /** Epoch ms after which no new model call starts (maxWallHours). */
  deadline: number;
}

/** Worst case of one call: the whole context in, maxTokens out. Cache discounts are ignored, so this over-estimates. */
export function estimateCall(model: ResolvedModel, contextTokens: number): { costUsd: number; tokens: number } {
  const tokens = contextTokens + model.maxTokens;
  const costUsd = model.price
    ? (contextTokens * model.price.inputPerMTok + model.maxTokens * model.price.outputPerMTok) / 1_000_000
    : 0;
  return { costUsd, tokens };
}

/** Why a call may not start under this lease, or null when it may. */
export function refuseCall(
  lease: Lease,
  spent: Usage,
  model: ResolvedModel,
  contextTokens: number,
  now: number,
): string | null {
  if (now >= lease.deadline) return 'the run reached maxWallHours';
  const est = estimateCall(model, contextTokens);
  if (lease.costUsd !== null && spent.costUsd + est.costUsd > lease.costUsd) {
    return `the next call may cost up to $${est.costUsd.toFixed(4)} and only $${Math.max(0, lease.costUsd - spent.costUsd).toFixed(4)} of this agent's budget is left`;
  }
  if (lease.tokens !== null && tokensOf(spent) + est.tokens > lease.tokens) {
    return `the next call may use up to ${est.tokens} tokens and only ${Math.max(0, lease.tokens - tokensOf(spent))} are left`;
  }
  return null;
}

/** What is left of a lease after some spend. */
export function remaining(lease: Lease, spent: Usage): Lease {
  return {
    costUsd: lease.costUsd === null ? null : Math.max(0, lease.costUsd - spent.costUsd),
    tokens: lease.tokens === null ? null : Math.max(0, lease.tokens - tokensOf(spent)),
    deadline: lease.deadline,
  };
}

/** Carves a child's lease out of what is free: an equal share among `ways`, at least one worst-case call if free allows. */
export function carve(free: Lease, ways: number, minimum: { costUsd: number; tokens: number }): Lease {
  const share = (v: number | null, min: number) =>
    v === null ? null : Math.min(v, Math.max(v / Math.max(1, ways), min));
  return {
    costUsd: share(free.costUsd, minimum.costUsd),
    tokens: share(free.tokens, minimum.tokens),
    deadline: free.deadline,
  };
}

/** Usage expressed as a lease amount, to subtract from a lease. */
export function spentLease(spent: Usage, deadline: number): Lease {
  return { costUsd: spent.costUsd, tokens: tokensOf(spent), deadline };
}

export function subtract(a: Lease, b: Lease): Lease {
  return {
    costUsd: a.costUsd === null ? null : Math.max(0, a.costUsd - (b.costUsd ?? 0)),
    tokens: a.tokens === null ? null : Math.max(0, a.tokens - (b.tokens ?? 0)),
    deadline: a.deadline,
  };
}

export function add(a: Lease, b: Lease): Lease {
  return {
    costUsd: a.costUsd === null ? null : a.costUsd + (b.costUsd ?? 0),
    tokens: a.tokens === null ? null : a.tokens + (b.tokens ?? 0),
    deadline: a.deadline,
  };
}

/** True when not even one call of this size fits. */
export function exhausted(free: Lease, minimum: { costUsd: number; tokens: number }, now: number): boolean {
  if (now >= free.deadline) return true;
  if (free.costUsd !== null && free.costUsd < minimum.costUsd) return true;
  if (free.tokens !== null && free.tokens < minimum.tokens) return true;
  return false;
}
