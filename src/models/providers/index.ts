import type { ProviderName } from '../../core/types';
import { AnthropicProvider } from './anthropic';
import { OpenAIProvider } from './openai';
import type { ModelProvider, ProviderOptions } from './provider';

export * from './provider';

/** Builds the provider client from the worker's environment (keys and base URLs never come from workflow input). */
export function createProvider(name: ProviderName, env: NodeJS.ProcessEnv, options: ProviderOptions): ModelProvider {
  switch (name) {
    case 'openai':
    case 'openai-compatible':
      return new OpenAIProvider(name, env, options);
    case 'anthropic':
      return new AnthropicProvider(env, options);
  }
}
