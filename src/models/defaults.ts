import {
  ROLES,
  type ModelSettings,
  type ProviderName,
  type ResolvedModel,
  type Role,
  type RoleModels,
} from '../core/types';
import { baseModelName, loadPriceOverrides, priceFor, type PriceOverrides } from './pricing';

/** What the user gave for one role: any subset; missing fields come from the defaults. */
export type ModelSettingsInput = Partial<ModelSettings>;
export type RoleModelsInput = Partial<Record<Role, ModelSettingsInput>>;

/**
 * Default model per role and provider. Planner and judge decide what gets built and whether it is
 * good enough: a strong model. Workers make many calls: a fast coder. The compactor summarises
 * transcripts: cheap, with a large context. (claude-sonnet-4-5 is deprecated by the installed
 * Anthropic SDK, which warns on every call, hence 4-6.)
 */
export const DEFAULT_MODELS: Record<'openai' | 'anthropic', Record<Role, string>> = {
  anthropic: {
    planner: 'claude-sonnet-4-6',
    subplanner: 'claude-sonnet-4-6',
    worker: 'claude-haiku-4-5',
    judge: 'claude-sonnet-4-6',
    compactor: 'claude-haiku-4-5',
  },
  openai: {
    planner: 'gpt-5',
    subplanner: 'gpt-5',
    worker: 'gpt-5-mini',
    judge: 'gpt-5',
    compactor: 'gpt-4.1-mini',
  },
};

/** Output budget per role (capped by the model's own limit). Reasoning models spend part of it thinking. */
export const DEFAULT_MAX_TOKENS: Record<Role, number> = {
  planner: 16_000,
  subplanner: 16_000,
  worker: 16_000,
  judge: 8_000,
  compactor: 8_000,
};

interface ModelLimits {
  contextWindow: number;
  maxOutput: number;
}

/** Known context windows and output limits, matched by name prefix (longest first). */
const MODEL_LIMITS: Array<[prefix: string, limits: ModelLimits]> = (
  [
    ['gpt-5', { contextWindow: 400_000, maxOutput: 128_000 }],
    ['gpt-4.1', { contextWindow: 1_047_576, maxOutput: 32_768 }],
    ['gpt-4o', { contextWindow: 128_000, maxOutput: 16_384 }],
    ['o3', { contextWindow: 200_000, maxOutput: 100_000 }],
    ['o4-mini', { contextWindow: 200_000, maxOutput: 100_000 }],
    ['claude-opus-4-5', { contextWindow: 200_000, maxOutput: 64_000 }],
    ['claude-opus-4', { contextWindow: 200_000, maxOutput: 32_000 }],
    ['claude-sonnet-4', { contextWindow: 200_000, maxOutput: 64_000 }],
    ['claude-haiku-4', { contextWindow: 200_000, maxOutput: 64_000 }],
    ['claude-3-7-sonnet', { contextWindow: 200_000, maxOutput: 64_000 }],
    ['claude-3', { contextWindow: 200_000, maxOutput: 8_192 }],
  ] as Array<[string, ModelLimits]>
).sort((a, b) => b[0].length - a[0].length);

/** Conservative limits for models we do not know (e.g. a local model behind openai-compatible). */
export const UNKNOWN_MODEL_LIMITS: ModelLimits = { contextWindow: 128_000, maxOutput: 8_192 };

export function modelLimits(model: string): ModelLimits {
  const name = baseModelName(model);
  return MODEL_LIMITS.find(([prefix]) => name.startsWith(prefix))?.[1] ?? UNKNOWN_MODEL_LIMITS;
}

/** Guesses the provider from a model name, for input like `{ worker: { model: 'gpt-5-mini' } }`. */
export function inferProvider(model: string): ProviderName | undefined {
  const name = baseModelName(model);
  if (name.startsWith('claude')) return 'anthropic';
  if (/^(gpt-|o\d|chatgpt-|codex-)/.test(name)) return 'openai';
  return undefined;
}

/**
 * The provider used for roles the user did not configure: `LONGRUN_DEFAULT_PROVIDER` if set, else
 * whichever of Anthropic / OpenAI has a key in the environment (Anthropic first), else Anthropic.
 */
export function defaultProvider(env: NodeJS.ProcessEnv = process.env): 'openai' | 'anthropic' {
  const chosen = env.LONGRUN_DEFAULT_PROVIDER;
  if (chosen === 'openai' || chosen === 'anthropic') return chosen;
  if (chosen) {
    throw new Error(`LONGRUN_DEFAULT_PROVIDER must be "openai" or "anthropic", got "${chosen}"`);
  }
  if (!env.ANTHROPIC_API_KEY && env.OPENAI_API_KEY) return 'openai';
  return 'anthropic';
}

/**
 * Applies defaults to the user's per-role model settings. Called once at run start; the result is
 * recorded in the run's state so that later config or price-table changes do not alter a running run.
 */
export function resolveModels(input: RoleModelsInput = {}, env: NodeJS.ProcessEnv = process.env): RoleModels {
  const fallback = defaultProvider(env);
  const overrides: PriceOverrides = loadPriceOverrides(env);
  const out = {} as RoleModels;
  for (const role of ROLES) out[role] = resolveOne(role, input[role] ?? {}, fallback, overrides);
  return out;
}

function resolveOne(
  role: Role,
  given: ModelSettingsInput,
  fallback: 'openai' | 'anthropic',
  overrides: PriceOverrides,
): ResolvedModel {
  const provider: ProviderName = given.provider ?? (given.model ? inferProvider(given.model) : undefined) ?? fallback;
  if (provider === 'openai-compatible' && !given.model) {
    throw new Error(
      `models.${role}.model is required when models.${role}.provider is "openai-compatible" (e.g. "llama3.1:70b")`,
    );
  }
  const model = given.model ?? DEFAULT_MODELS[provider as 'openai' | 'anthropic'][role];
  const limits = modelLimits(model);
  const resolved: ResolvedModel = {
    provider,
    model,
    maxTokens: given.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS[role], limits.maxOutput),
    contextWindow: given.contextWindow ?? limits.contextWindow,
    price: priceFor(provider, model, overrides),
  };
  if (given.temperature !== undefined) resolved.temperature = given.temperature;
  if (given.reasoningEffort !== undefined) resolved.reasoningEffort = given.reasoningEffort;
  return resolved;
}
