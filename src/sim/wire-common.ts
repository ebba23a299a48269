import type { PromptAccounting, Segment } from './tokens';
import type { SimMessage } from './types';

/** A request body decoded by one of the wire modules. */
export interface DecodedRequest {
  model: string;
  system: string;
  messages: SimMessage[];
  tools: string[];
  /** Prompt pieces in cache order, for token and cache accounting. */
  segments: Segment[];
}

/** A reply ready to encode. `rawArguments` is sent verbatim (to simulate malformed JSON). */
export interface Reply {
  id: string;
  text: string;
  toolCalls: Array<{ id: string; name: string; arguments: unknown; rawArguments?: string }>;
  stopReason: 'end_turn' | 'tool_use' | 'max_tokens';
  prompt: PromptAccounting;
  outputTokens: number;
}

/** A request the simulated API rejects as the real one would (HTTP 400). */
export class WireError extends Error {}

export function asText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b: { type?: string; text?: unknown }) =>
        b && b.type === 'text' && typeof b.text === 'string' ? b.text : '',
      )
      .join('');
  }
  return '';
}

export function record(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new WireError(`${what} must be an object`);
  return value as Record<string, unknown>;
}
