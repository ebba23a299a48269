import { ROLES, type ProviderName, type Role, type RoleModels } from '../core/types';

/** Where each provider's credentials and endpoint come from. Only the worker's environment: never workflow input. */
export const PROVIDER_ENV: Record<ProviderName, { key: string; keyRequired: boolean; baseUrl: string }> = {
  openai: { key: 'OPENAI_API_KEY', keyRequired: true, baseUrl: 'OPENAI_BASE_URL' },
  anthropic: { key: 'ANTHROPIC_API_KEY', keyRequired: true, baseUrl: 'ANTHROPIC_BASE_URL' },
  // Local servers (Ollama, vLLM) usually need no key; the base URL is what makes the provider.
  'openai-compatible': { key: 'OPENAI_COMPATIBLE_API_KEY', keyRequired: false, baseUrl: 'OPENAI_COMPATIBLE_BASE_URL' },
};

/** The distinct providers a run will call, with the roles that use each. */
export function providersNeedingKeys(models: RoleModels): Map<ProviderName, Role[]> {
  const out = new Map<ProviderName, Role[]>();
  for (const role of ROLES) {
    const provider = models[role].provider;
    out.set(provider, [...(out.get(provider) ?? []), role]);
  }
  return out;
}

/**
 * Problems with the credentials a run needs, one sentence each, naming the role, the variable and the
 * fix. Empty when all is well. Run-input validation calls this on the worker side before starting.
 */
export function checkProviderKeys(models: RoleModels, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  for (const [provider, roles] of providersNeedingKeys(models)) {
    const spec = PROVIDER_ENV[provider];
    const who = roles.length === 1 ? `role ${roles[0]} uses` : `roles ${roles.join(', ')} use`;
    const fix = `set it or choose another provider with ${roles.map((r) => `models.${r}.provider`).join(' / ')}`;
    if (spec.keyRequired && !env[spec.key]) {
      problems.push(`${who} provider ${provider} but ${spec.key} is not set in the worker's environment; ${fix}`);
    }
    if (provider === 'openai-compatible' && !env[spec.baseUrl]) {
      problems.push(
        `${who} provider openai-compatible but ${spec.baseUrl} is not set in the worker's environment ` +
          `(e.g. http://localhost:11434/v1 for Ollama); ${fix}`,
      );
    }
    const base = env[spec.baseUrl];
    if (base && !/^https?:\/\/[^/]/.test(base)) {
      problems.push(`${spec.baseUrl}="${base}" is not an http(s) URL (needed by ${who.replace(/ uses?$/, '')})`);
    }
  }
  return problems;
}
