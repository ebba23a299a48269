/**
 * Simulated model latency for the scaling bench. Lognormal with a given median and 90th percentile, either drawn
 * independently per request ("iid", the simulator's own sampler), or "deciles": every agent's turns take the same
 * ten decile midpoints of that distribution in its own shuffled order. With deciles every agent has the same total
 * model time, so the slowest agent's luck (10 draws from a heavy tail) does not bound parallel efficiency, and what is
 * left is the orchestration's cost; the request-level distribution is the same lognormal.
 */
import { rng } from '../../src/sim/faults';
import type { Latency } from '../../src/sim/types';

/** z-scores of the decile midpoints 0.05, 0.15, …, 0.95 of the standard normal distribution. */
const DECILE_Z = [-1.6449, -1.0364, -0.6745, -0.3853, -0.1257, 0.1257, 0.3853, 0.6745, 1.0364, 1.6449];
const Z90 = 1.2815515655446004;

export function decileLatencies(p50Ms: number, p90Ms: number): number[] {
  const sigma = Math.log(p90Ms / p50Ms) / Z90;
  return DECILE_Z.map((z) => Math.round(p50Ms * Math.exp(sigma * z)));
}

/** A seeded permutation of `values` (Fisher-Yates). */
export function shuffled<T>(values: T[], seed: number): T[] {
  const random = rng(seed);
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export type LatencyMode = 'deciles' | 'iid';

/**
 * Model latency profiles (BENCH_MODEL_LATENCY): `stress` (median 500 ms, p90 2 s: orchestration dominates) or
 * `realistic` (median 5.7 s, p90 22 s, measured over real coding-agent traces).
 */
export const MODEL_LATENCY = { stress: { p50: 500, p90: 2_000 }, realistic: { p50: 5_700, p90: 22_000 } };
export type LatencyProfile = keyof typeof MODEL_LATENCY;

/** The profile BENCH_MODEL_LATENCY names (default `fallback`), with its median and p90 in ms. */
export function modelLatency(fallback: LatencyProfile, env: NodeJS.ProcessEnv = process.env) {
  const name = (env.BENCH_MODEL_LATENCY ?? fallback) as LatencyProfile;
  if (!MODEL_LATENCY[name]) throw new Error(`BENCH_MODEL_LATENCY must be stress or realistic, not ${name}`);
  return { name, ...MODEL_LATENCY[name] };
}

/** Latency of turn `turn` of agent number `agent` (turns beyond the decile list wrap around). */
export function latencyFor(mode: LatencyMode, p50Ms: number, p90Ms: number): (agent: number, turn: number) => Latency {
  if (mode === 'iid') return () => ({ p50Ms, p90Ms });
  const deciles = decileLatencies(p50Ms, p90Ms);
  const cache = new Map<number, number[]>();
  return (agent, turn) => {
    let order = cache.get(agent);
    if (!order) cache.set(agent, (order = shuffled(deciles, 1_000 + agent)));
    return { ms: order[turn % order.length] };
  };
}
