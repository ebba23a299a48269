import type { SimApi } from './types';

/** Deterministic PRNG (mulberry32): seeded latency samples make simulated runs repeatable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** z of the 90th percentile of the standard normal distribution. */
const Z90 = 1.2815515655446004;

/** A latency sample in ms: fixed, or lognormal with the given median and 90th percentile. */
export function sampleLatency(
  latency: { ms: number } | { p50Ms: number; p90Ms: number } | undefined,
  random: () => number,
): number {
  if (!latency) return 0;
  if ('ms' in latency) return latency.ms;
  const sigma = Math.log(latency.p90Ms / latency.p50Ms) / Z90;
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.round(latency.p50Ms * Math.exp(sigma * z));
}

/** Headers of a 429 in both providers' styles (and retry-after, which both SDKs read). */
export function rateLimitHeaders(retryAfterMs: number, explicitMs: boolean, now = Date.now()): Record<string, string> {
  const seconds = retryAfterMs / 1000;
  const reset = new Date(now + retryAfterMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    'retry-after': String(Math.ceil(seconds)),
    ...(explicitMs ? { 'retry-after-ms': String(retryAfterMs) } : {}),
    'x-ratelimit-limit-requests': '60',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': `${seconds}s`,
    'x-ratelimit-limit-tokens': '150000',
    'x-ratelimit-remaining-tokens': '150000',
    'x-ratelimit-reset-tokens': '0s',
    'anthropic-ratelimit-requests-limit': '60',
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': reset,
    'anthropic-ratelimit-tokens-limit': '150000',
    'anthropic-ratelimit-tokens-remaining': '150000',
    'anthropic-ratelimit-tokens-reset': new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

export function defaultFaultMessage(api: SimApi, status: number): string {
  switch (status) {
    case 401:
      return api === 'anthropic' ? 'invalid x-api-key' : 'Incorrect API key provided.';
    case 403:
      return 'Your API key does not have permission to use the specified resource.';
    case 404:
      return api === 'anthropic' ? 'model: not found' : 'The model does not exist or you do not have access to it.';
    case 429:
      return 'Rate limit reached for requests (simulated).';
    case 529:
      return 'Overloaded';
    default:
      return status >= 500
        ? 'The server had an error while processing your request (simulated).'
        : 'Bad request (simulated).';
  }
}

export function contextLengthMessage(api: SimApi, tokens: number): string {
  return api === 'anthropic'
    ? `prompt is too long: ${tokens} tokens > 200000 maximum`
    : `This model's maximum context length is 128000 tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`;
}
