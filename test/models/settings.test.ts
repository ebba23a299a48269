import { ROLES } from '../../src/core/types';
import { defaultProvider, resolveModels } from '../../src/models/defaults';
import { runInputSchema } from '../../src/core/schemas';
import { checkProviderKeys } from '../../src/models/settings';

// The run input's `models` field: the one schema of per-role model settings.
const roleModelsSchema = runInputSchema.shape.models.unwrap();

describe('resolveModels', () => {
  test('defaults: a strong planner and judge, a fast worker, a cheap compactor; all priced', () => {
    const m = resolveModels({}, { ANTHROPIC_API_KEY: 'k' });
    expect(m.planner).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-6',
      contextWindow: 200_000,
      maxTokens: 16_000,
    });
    expect(m.judge.model).toBe('claude-sonnet-4-6');
    expect(m.worker.model).toBe('claude-haiku-4-5');
    for (const role of ROLES) expect(m[role].price).not.toBeNull();
  });

  test('only an OpenAI key → OpenAI defaults; LONGRUN_DEFAULT_PROVIDER wins', () => {
    expect(resolveModels({}, { OPENAI_API_KEY: 'k' }).planner).toMatchObject({
      provider: 'openai',
      model: 'gpt-5',
      contextWindow: 400_000,
    });
    expect(defaultProvider({ OPENAI_API_KEY: 'k', LONGRUN_DEFAULT_PROVIDER: 'anthropic' })).toBe('anthropic');
    expect(() => defaultProvider({ LONGRUN_DEFAULT_PROVIDER: 'gemini' })).toThrow(/LONGRUN_DEFAULT_PROVIDER must be/);
  });

  test('partial settings: the provider is inferred from the model name; user values are kept', () => {
    const m = resolveModels(
      {
        worker: { model: 'gpt-4.1-mini', temperature: 0.2 },
        judge: { provider: 'anthropic', model: 'claude-opus-4-1', maxTokens: 4000, reasoningEffort: 'high' },
      },
      { ANTHROPIC_API_KEY: 'k' },
    );
    expect(m.worker).toMatchObject({
      provider: 'openai',
      model: 'gpt-4.1-mini',
      temperature: 0.2,
      contextWindow: 1_047_576,
    });
    expect(m.judge).toMatchObject({
      model: 'claude-opus-4-1',
      maxTokens: 4000,
      reasoningEffort: 'high',
      price: { inputPerMTok: 15 },
    });
  });

  test('openai-compatible: model required, unknown price and conservative limits', () => {
    expect(() => resolveModels({ worker: { provider: 'openai-compatible' } }, {})).toThrow(
      /models\.worker\.model is required/,
    );
    const m = resolveModels({ worker: { provider: 'openai-compatible', model: 'qwen2.5-coder:32b' } }, {});
    expect(m.worker).toMatchObject({ price: null, contextWindow: 128_000, maxTokens: 8_192 });
  });

  test('the run-input schema rejects unknown fields and bad values', () => {
    expect(roleModelsSchema.safeParse({ worker: { model: 'x', temprature: 1 } }).success).toBe(false);
    expect(roleModelsSchema.safeParse({ worker: { provider: 'gemini' } }).success).toBe(false);
    expect(roleModelsSchema.safeParse({ wroker: { model: 'gpt-5' } }).success).toBe(false);
    expect(
      roleModelsSchema.safeParse({ planner: { provider: 'openai', model: 'gpt-5', maxTokens: 100 } }).success,
    ).toBe(true);
  });
});

describe('checkProviderKeys', () => {
  test('names the roles, the variable and the fix', () => {
    const models = resolveModels(
      { worker: { provider: 'anthropic' }, planner: { provider: 'openai' } },
      { OPENAI_API_KEY: 'k' },
    );
    const problems = checkProviderKeys(models, { OPENAI_API_KEY: 'k' });
    expect(problems).toEqual([
      "role worker uses provider anthropic but ANTHROPIC_API_KEY is not set in the worker's environment; set it or choose another provider with models.worker.provider",
    ]);
  });

  test('openai-compatible needs a base URL, not a key; all set → no problems', () => {
    const models = resolveModels(
      Object.fromEntries(ROLES.map((r) => [r, { provider: 'openai-compatible', model: 'llama3' }])),
      {},
    );
    expect(checkProviderKeys(models, {})).toEqual([
      expect.stringMatching(
        /^roles planner, subplanner, worker, judge, compactor use provider openai-compatible but OPENAI_COMPATIBLE_BASE_URL is not set/,
      ),
    ]);
    expect(checkProviderKeys(models, { OPENAI_COMPATIBLE_BASE_URL: 'http://localhost:11434/v1' })).toEqual([]);
    expect(checkProviderKeys(models, { OPENAI_COMPATIBLE_BASE_URL: 'localhost:11434' })[0]).toMatch(
      /is not an http\(s\) URL/,
    );
  });
});
