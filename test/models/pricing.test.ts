import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { costOf, loadPriceOverrides, priceFor } from '../../src/models/pricing';
import { tempDir } from '../helpers/temporal';

describe('pricing', () => {
  test('known models, dated snapshots, unknown models', () => {
    expect(priceFor('anthropic', 'claude-sonnet-4-5', {})).toEqual({
      inputPerMTok: 3,
      outputPerMTok: 15,
      cacheReadPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
    });
    expect(priceFor('anthropic', 'claude-sonnet-4-5-20250929', {})).toEqual(
      priceFor('anthropic', 'claude-sonnet-4-5', {}),
    );
    expect(priceFor('openai', 'gpt-4o-2024-08-06', {})?.inputPerMTok).toBe(2.5);
    expect(priceFor('openai', 'gpt-5-mini', {})?.cacheReadPerMTok).toBe(0.025);
    expect(priceFor('openai', 'gpt-6-ultra', {})).toBeNull();
    expect(priceFor('openai-compatible', 'gpt-5', {})).toBeNull(); // could be anything behind that URL
  });

  test('costOf: every token class at its price; unknown price → null, never 0', () => {
    const price = { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 };
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 200_000,
      cacheReadTokens: 2_000_000,
      cacheWriteTokens: 400_000,
    };
    expect(costOf(usage, price)).toBeCloseTo(3 + 3 + 0.6 + 1.5, 10);
    expect(costOf(usage, null)).toBeNull();
    expect(costOf({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }, price)).toBe(0);
  });

  test('overrides from LONGRUN_PRICES: provider-qualified first, cache prices default to input', () => {
    const overrides = loadPriceOverrides({
      LONGRUN_PRICES: JSON.stringify({
        'openai-compatible:llama3': { inputPerMTok: 0.1, outputPerMTok: 0.2 },
        'gpt-5': { inputPerMTok: 1, outputPerMTok: 2, cacheReadPerMTok: 0.5 },
      }),
    });
    expect(priceFor('openai-compatible', 'llama3', overrides)).toEqual({
      inputPerMTok: 0.1,
      outputPerMTok: 0.2,
      cacheReadPerMTok: 0.1,
      cacheWritePerMTok: 0.1,
    });
    expect(priceFor('openai', 'gpt-5', overrides)).toEqual({
      inputPerMTok: 1,
      outputPerMTok: 2,
      cacheReadPerMTok: 0.5,
      cacheWritePerMTok: 1,
    });
    expect(priceFor('anthropic', 'claude-haiku-4-5', overrides)?.inputPerMTok).toBe(1);
  });

  test('overrides from LONGRUN_PRICES_FILE, and errors naming the key and field', async () => {
    const dir = await tempDir('prices');
    try {
      const file = path.join(dir, 'prices.json');
      await fs.writeFile(file, JSON.stringify({ 'my-model': { inputPerMTok: 7, outputPerMTok: 8 } }));
      expect(loadPriceOverrides({ LONGRUN_PRICES_FILE: file })['my-model'].inputPerMTok).toBe(7);
      expect(() => loadPriceOverrides({ LONGRUN_PRICES_FILE: path.join(dir, 'nope.json') })).toThrow(
        /cannot read the file/,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    expect(() => loadPriceOverrides({ LONGRUN_PRICES: '{"x": {"inputPerMTok": 1}}' })).toThrow(
      /"x"\.outputPerMTok must be a non-negative number/,
    );
    expect(() => loadPriceOverrides({ LONGRUN_PRICES: 'nope' })).toThrow(/LONGRUN_PRICES is not valid JSON/);
    expect(loadPriceOverrides({})).toEqual({});
  });
});
