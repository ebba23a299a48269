import { createHash } from 'node:crypto';

/** Deterministic token estimate: ~4 characters per token, like the usual rule of thumb. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A piece of the prompt in cache order (tools, system, messages). */
export interface Segment {
  text: string;
  /** Anthropic `cache_control` on this block: the prefix ending here may be written to the cache. */
  breakpoint?: boolean;
}

export interface PromptAccounting {
  /** All prompt tokens. */
  total: number;
  /** Tokens of the longest prefix an earlier request left in the cache. */
  cacheRead: number;
  /** Tokens newly written to the cache (explicit mode only). */
  cacheWrite: number;
}

/**
 * A simulated prompt cache, at segment granularity. `auto` mode (OpenAI) caches every prefix of
 * every request; `explicit` mode (Anthropic) caches only prefixes ending at a breakpoint and
 * reports the newly cached part as a cache write. There is no minimum length and no expiry: tests
 * get exact, predictable numbers.
 */
export class PromptCache {
  private readonly seen = new Set<string>();

  account(model: string, segments: Segment[], mode: 'auto' | 'explicit'): PromptAccounting {
    let hash = createHash('sha256').update(model).digest('hex');
    let total = 0;
    let cacheRead = 0;
    const prefixes: Array<{ hash: string; tokens: number; breakpoint: boolean }> = [];
    for (const seg of segments) {
      hash = createHash('sha256').update(hash).update('\0').update(seg.text).digest('hex');
      total += estimateTokens(seg.text);
      prefixes.push({ hash, tokens: total, breakpoint: !!seg.breakpoint });
      if (this.seen.has(hash)) cacheRead = total;
    }
    let cacheWrite = 0;
    for (const p of prefixes) {
      if (mode === 'auto' || p.breakpoint) {
        if (mode === 'explicit' && !this.seen.has(p.hash)) cacheWrite = Math.max(cacheWrite, p.tokens - cacheRead);
        this.seen.add(p.hash);
      }
    }
    return { total, cacheRead, cacheWrite };
  }
}
