import * as fs from 'node:fs';
import type { CallUsage, Price, ProviderName } from '../core/types';

/**
 * Prices in USD per one million tokens, list prices of the providers' public pages. Models missing
 * here (newer ones included) have an unknown cost until priced with LONGRUN_PRICES: better unknown
 * than wrong.
 *
 * Token accounting is normalised across providers (see providers/*.ts):
 * - `inputTokens` is NON-cached input. OpenAI's `prompt_tokens` includes cached tokens, so the
 *   OpenAI provider subtracts `prompt_tokens_details.cached_tokens`; Anthropic's `input_tokens`
 *   already excludes cache reads and writes.
 * - `cacheReadTokens` are billed at `cacheReadPerMTok`, `cacheWriteTokens` at `cacheWritePerMTok`
 *   (Anthropic's 5-minute cache write; OpenAI does not report writes, so they are always 0 there).
 * - `outputTokens` include reasoning tokens, which both providers bill as output.
 */
const p = (
  inputPerMTok: number,
  outputPerMTok: number,
  cacheReadPerMTok: number,
  cacheWritePerMTok: number,
): Price => ({
  inputPerMTok,
  outputPerMTok,
  cacheReadPerMTok,
  cacheWritePerMTok,
});

export const DEFAULT_PRICES: Record<'openai' | 'anthropic', Record<string, Price>> = {
  openai: {
    'gpt-5': p(1.25, 10, 0.125, 1.25),
    'gpt-5.1': p(1.25, 10, 0.125, 1.25),
    'gpt-5-codex': p(1.25, 10, 0.125, 1.25),
    'gpt-5-mini': p(0.25, 2, 0.025, 0.25),
    'gpt-5-nano': p(0.05, 0.4, 0.005, 0.05),
    'gpt-4.1': p(2, 8, 0.5, 2),
    'gpt-4.1-mini': p(0.4, 1.6, 0.1, 0.4),
    'gpt-4.1-nano': p(0.1, 0.4, 0.025, 0.1),
    'gpt-4o': p(2.5, 10, 1.25, 2.5),
    'gpt-4o-mini': p(0.15, 0.6, 0.075, 0.15),
    o3: p(2, 8, 0.5, 2),
    'o3-mini': p(1.1, 4.4, 0.55, 1.1),
    'o4-mini': p(1.1, 4.4, 0.275, 1.1),
  },
  anthropic: {
    'claude-opus-4-6': p(5, 25, 0.5, 6.25),
    'claude-opus-4-5': p(5, 25, 0.5, 6.25),
    'claude-opus-4-1': p(15, 75, 1.5, 18.75),
    'claude-opus-4-0': p(15, 75, 1.5, 18.75),
    'claude-opus-4': p(15, 75, 1.5, 18.75),
    'claude-sonnet-4-6': p(3, 15, 0.3, 3.75),
    'claude-sonnet-4-5': p(3, 15, 0.3, 3.75),
    'claude-sonnet-4-0': p(3, 15, 0.3, 3.75),
    'claude-sonnet-4': p(3, 15, 0.3, 3.75),
    'claude-3-7-sonnet': p(3, 15, 0.3, 3.75),
    'claude-haiku-4-5': p(1, 5, 0.1, 1.25),
    'claude-3-5-haiku': p(0.8, 4, 0.08, 1),
    'claude-3-haiku': p(0.25, 1.25, 0.03, 0.3),
  },
};

/** Strips dated snapshot suffixes: claude-sonnet-4-5-20250929, gpt-4o-2024-08-06, claude-3-5-haiku-latest. */
export function baseModelName(model: string): string {
  return model
    .toLowerCase()
    .replace(/-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$/, '')
    .replace(/^(anthropic|openai)\//, '');
}

export type PriceOverrides = Record<string, Price>;

const PRICE_FIELDS: Array<keyof Price> = ['inputPerMTok', 'outputPerMTok', 'cacheReadPerMTok', 'cacheWritePerMTok'];

/**
 * Price overrides from the environment: `LONGRUN_PRICES` (JSON) or `LONGRUN_PRICES_FILE` (path to JSON).
 * Keys are "provider:model" or just "model"; values are Price objects. `cacheReadPerMTok` and
 * `cacheWritePerMTok` default to the input price when omitted. Throws with the key and field at fault.
 */
export function loadPriceOverrides(env: NodeJS.ProcessEnv = process.env): PriceOverrides {
  let raw: string | undefined;
  let source = 'LONGRUN_PRICES';
  if (env.LONGRUN_PRICES_FILE) {
    source = `LONGRUN_PRICES_FILE (${env.LONGRUN_PRICES_FILE})`;
    try {
      raw = fs.readFileSync(env.LONGRUN_PRICES_FILE, 'utf8');
    } catch (err) {
      throw new Error(`${source}: cannot read the file: ${(err as Error).message}`);
    }
  } else {
    raw = env.LONGRUN_PRICES;
  }
  if (!raw || !raw.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(
      `${source} must be a JSON object like {"openai:gpt-5": {"inputPerMTok": 1.25, "outputPerMTok": 10}}`,
    );
  }
  const out: PriceOverrides = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const v = (value ?? {}) as Record<string, unknown>;
    for (const field of ['inputPerMTok', 'outputPerMTok'] as const) {
      if (typeof v[field] !== 'number' || !Number.isFinite(v[field]) || (v[field] as number) < 0) {
        throw new Error(`${source}: "${key}".${field} must be a non-negative number`);
      }
    }
    const input = v.inputPerMTok as number;
    const price = { ...p(input, v.outputPerMTok as number, input, input) };
    for (const field of PRICE_FIELDS) {
      if (v[field] === undefined) continue;
      if (typeof v[field] !== 'number' || (v[field] as number) < 0) {
        throw new Error(`${source}: "${key}".${field} must be a non-negative number`);
      }
      price[field] = v[field] as number;
    }
    out[key.toLowerCase()] = price;
  }
  return out;
}

/**
 * The price of a model, or null when unknown (its cost is then reported as unknown, never 0).
 * Lookup order: override "provider:model", override "model", built-in table (exact, then without a
 * date suffix). `openai-compatible` models have no built-in price: they may be anything.
 */
export function priceFor(
  provider: ProviderName,
  model: string,
  overrides: PriceOverrides = loadPriceOverrides(),
): Price | null {
  const exact = model.toLowerCase();
  const base = baseModelName(model);
  for (const name of [exact, base]) {
    const hit = overrides[`${provider}:${name}`] ?? overrides[name];
    if (hit) return { ...hit };
  }
  if (provider === 'openai-compatible') return null;
  const table = DEFAULT_PRICES[provider];
  const hit = table[exact] ?? table[base];
  return hit ? { ...hit } : null;
}

/** Cost in USD of one call, or null when the price is unknown. */
export function costOf(usage: Omit<CallUsage, 'costUsd'>, price: Price | null): number | null {
  if (!price) return null;
  const micro =
    usage.inputTokens * price.inputPerMTok +
    usage.outputTokens * price.outputPerMTok +
    usage.cacheReadTokens * price.cacheReadPerMTok +
    usage.cacheWriteTokens * price.cacheWritePerMTok;
  return micro / 1_000_000;
}
