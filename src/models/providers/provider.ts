import type {
  CallUsage,
  ChatMessage,
  ModelCallResult,
  ProviderName,
  ResolvedModel,
  ToolCall,
  ToolSpec,
} from '../../core/types';

/** One request to a model, in longrun's neutral format. */
export interface CompletionRequest {
  model: ResolvedModel;
  messages: ChatMessage[];
  tools: ToolSpec[];
  toolChoice?: 'auto' | 'required';
  /** Aborts the HTTP request (activity cancellation). */
  signal?: AbortSignal;
  /** Per-request timeout; defaults to the client's. */
  timeoutMs?: number;
  /** Groups requests that share a prefix, so the provider routes them to the same cache (OpenAI `prompt_cache_key`). */
  cacheKey?: string;
}

/** The reply, normalised: `usage.inputTokens` is non-cached input for every provider (see pricing.ts). */
export interface Completion {
  text: string;
  toolCalls: ToolCall[];
  stopReason: ModelCallResult['stopReason'];
  usage: Omit<CallUsage, 'costUsd'>;
  requestId?: string;
}

export interface ModelProvider {
  readonly name: ProviderName;
  complete(request: CompletionRequest): Promise<Completion>;
}

/** Raised before any HTTP call when the environment lacks what a provider needs (a key, a base URL). */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

export interface ProviderOptions {
  /** Per-request HTTP timeout; the SDK raises APIConnectionTimeoutError past it. */
  timeoutMs: number;
}

/**
 * Parses tool-call arguments. Malformed JSON is reported in `argumentsError` (raw text + parse error)
 * instead of thrown, so the agent loop can tell the model and let it try again.
 */
export function parseToolArguments(raw: unknown): Pick<ToolCall, 'arguments' | 'argumentsError'> {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) return { arguments: raw };
  if (typeof raw !== 'string') {
    return { argumentsError: `arguments must be a JSON object, got ${JSON.stringify(raw)?.slice(0, 200)}` };
  }
  if (raw.trim() === '') return { arguments: {} }; // some servers send "" for a tool without parameters
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return { arguments: parsed };
    return { argumentsError: `arguments must be a JSON object, got: ${raw.slice(0, 2000)}` };
  } catch (err) {
    return { argumentsError: `invalid JSON (${(err as Error).message}) in: ${raw.slice(0, 2000)}` };
  }
}

/** The arguments to send back to a provider for a call made earlier; malformed ones become {}. */
export function argumentsForReplay(call: ToolCall): Record<string, unknown> {
  return call.arguments !== null && typeof call.arguments === 'object'
    ? (call.arguments as Record<string, unknown>)
    : {};
}
