import type { CallUsage, Role, Usage, UsageByRole } from './types';

export function emptyUsage(): Usage {
  return {
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0,
    unpricedCalls: 0,
  };
}

export function addCall(usage: Usage, call: CallUsage): Usage {
  return {
    calls: usage.calls + 1,
    inputTokens: usage.inputTokens + call.inputTokens,
    outputTokens: usage.outputTokens + call.outputTokens,
    cacheReadTokens: usage.cacheReadTokens + call.cacheReadTokens,
    cacheWriteTokens: usage.cacheWriteTokens + call.cacheWriteTokens,
    costUsd: usage.costUsd + (call.costUsd ?? 0),
    unpricedCalls: usage.unpricedCalls + (call.costUsd === null ? 1 : 0),
  };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    calls: a.calls + b.calls,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    costUsd: a.costUsd + b.costUsd,
    unpricedCalls: a.unpricedCalls + b.unpricedCalls,
  };
}

export function addCallByRole(byRole: UsageByRole, role: Role, call: CallUsage): UsageByRole {
  return { ...byRole, [role]: addCall(byRole[role] ?? emptyUsage(), call) };
}

export function mergeByRole(a: UsageByRole, b: UsageByRole): UsageByRole {
  const out: UsageByRole = { ...a };
  for (const [role, u] of Object.entries(b) as Array<[Role, Usage]>) out[role] = addUsage(out[role] ?? emptyUsage(), u);
  return out;
}

export function totalOf(byRole: UsageByRole): Usage {
  return Object.values(byRole).reduce<Usage>((acc, u) => addUsage(acc, u!), emptyUsage());
}

/** Tokens that count against a token budget: everything sent and received. */
export function tokensOf(u: Usage | CallUsage): number {
  return u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
}
