import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  Message,
  MessageCreateParamsNonStreaming,
  MessageParam,
  TextBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import type { ChatMessage, ModelCallResult, ToolCall, ToolSpec } from '../../core/types';
import { PROVIDER_ENV } from '../settings';
import {
  ModelConfigError,
  argumentsForReplay,
  parseToolArguments,
  type Completion,
  type CompletionRequest,
  type ModelProvider,
  type ProviderOptions,
} from './provider';

const EPHEMERAL = { type: 'ephemeral' as const };

export interface AnthropicPayload {
  system: TextBlockParam[];
  messages: MessageParam[];
}

/**
 * Neutral transcript → Messages API. Leading system messages become the `system` parameter; a
 * later system message (e.g. a compaction note) becomes user text so the cached prefix stays put.
 * Tool results and user text between two assistant turns are merged into one user message
 * (tool_result blocks first), as the API requires.
 */
export function toAnthropicPayload(messages: ChatMessage[]): AnthropicPayload {
  const system: TextBlockParam[] = [];
  const out: MessageParam[] = [];
  let i = 0;
  for (; i < messages.length && messages[i].role === 'system'; i++) {
    system.push({ type: 'text', text: messages[i].content });
  }
  let pendingUser: ContentBlockParam[] = [];
  const flushUser = () => {
    if (!pendingUser.length) return;
    const results = pendingUser.filter((b) => b.type === 'tool_result');
    const rest = pendingUser.filter((b) => b.type !== 'tool_result');
    out.push({ role: 'user', content: [...results, ...rest] });
    pendingUser = [];
  };
  for (; i < messages.length; i++) {
    const m = messages[i];
    if (m.role === 'assistant') {
      flushUser();
      if (!out.length) out.push({ role: 'user', content: [{ type: 'text', text: '(continue)' }] });
      const content: ContentBlockParam[] = [];
      if (m.content.trim()) content.push({ type: 'text', text: m.content });
      for (const c of m.toolCalls ?? []) {
        content.push({ type: 'tool_use', id: c.id, name: c.name, input: argumentsForReplay(c) });
      }
      if (!content.length) content.push({ type: 'text', text: '(no reply)' }); // empty text blocks are rejected
      out.push({ role: 'assistant', content });
    } else if (m.role === 'tool') {
      pendingUser.push({
        type: 'tool_result',
        tool_use_id: m.toolCallId,
        content: m.content || '(no output)',
        ...(m.isError ? { is_error: true } : {}),
      });
    } else {
      pendingUser.push({
        type: 'text',
        text: (m.role === 'system' ? `[system] ${m.content}` : m.content) || '(empty)',
      });
    }
  }
  flushUser();
  return { system, messages: out };
}

export function toAnthropicTools(tools: ToolSpec[]): Tool[] {
  return tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: { type: 'object', ...t.parameters } as Tool.InputSchema,
  }));
}

/**
 * Prompt caching. Anthropic caches the prefix up to each `cache_control` breakpoint (at most 4;
 * order: tools, system, messages). We mark the system prompt, the last tool definition, the stable
 * conversation prefix (the last message before the newest turn, which the previous call's prefix
 * ends in, so this call reads it), and the newest message (so the next call can read everything).
 * Mutates the payload's blocks in place.
 */
export function placeCacheBreakpoints(payload: AnthropicPayload, tools: Tool[]): void {
  if (payload.system.length) payload.system[payload.system.length - 1].cache_control = EPHEMERAL;
  if (tools.length) tools[tools.length - 1].cache_control = EPHEMERAL;
  const msgs = payload.messages;
  for (const idx of [msgs.length - 2, msgs.length - 1]) {
    if (idx < 0) continue;
    const content = msgs[idx].content;
    if (typeof content === 'string') {
      msgs[idx].content = [{ type: 'text', text: content, cache_control: EPHEMERAL }];
    } else if (content.length) {
      (content[content.length - 1] as { cache_control?: typeof EPHEMERAL }).cache_control = EPHEMERAL;
    }
  }
}

const STOP_REASONS: Record<string, ModelCallResult['stopReason']> = {
  end_turn: 'end_turn',
  stop_sequence: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  model_context_window_exceeded: 'max_tokens',
};

/** Messages reply → neutral completion. input_tokens EXCLUDES cache reads and writes already. */
export function fromAnthropicMessage(msg: Message, requestId?: string | null): Completion {
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of msg.content ?? []) {
    if (block.type === 'text') texts.push(block.text);
    // input is an object on the wire; anything else means the model (or a proxy) produced broken JSON.
    else if (block.type === 'tool_use')
      toolCalls.push({ id: block.id, name: block.name, ...parseToolArguments(block.input) });
  }
  return {
    text: texts.join(''),
    toolCalls,
    stopReason: STOP_REASONS[msg.stop_reason ?? ''] ?? (toolCalls.length ? 'tool_use' : 'other'),
    usage: {
      inputTokens: msg.usage?.input_tokens ?? 0,
      outputTokens: msg.usage?.output_tokens ?? 0,
      cacheReadTokens: msg.usage?.cache_read_input_tokens ?? 0,
      cacheWriteTokens: msg.usage?.cache_creation_input_tokens ?? 0,
    },
    ...(requestId ? { requestId } : {}),
  };
}

/** Anthropic Messages with tool use and prompt caching. `maxRetries: 0`: retries belong to Temporal. */
export class AnthropicProvider implements ModelProvider {
  readonly name = 'anthropic' as const;
  private readonly client: Anthropic;

  constructor(env: NodeJS.ProcessEnv, options: ProviderOptions) {
    const spec = PROVIDER_ENV.anthropic;
    const apiKey = env[spec.key];
    if (!apiKey) throw new ModelConfigError(`${spec.key} is not set in the worker's environment`);
    this.client = new Anthropic({
      apiKey,
      baseURL: env[spec.baseUrl] || 'https://api.anthropic.com',
      maxRetries: 0,
      // An explicit timeout also stops the SDK from refusing large max_tokens without streaming.
      timeout: options.timeoutMs,
    });
  }

  async complete(req: CompletionRequest): Promise<Completion> {
    const m = req.model;
    const payload = toAnthropicPayload(req.messages);
    const tools = toAnthropicTools(req.tools);
    placeCacheBreakpoints(payload, tools);
    const body: MessageCreateParamsNonStreaming = {
      model: m.model,
      max_tokens: m.maxTokens,
      messages: payload.messages,
      ...(payload.system.length ? { system: payload.system } : {}),
      ...(m.temperature !== undefined ? { temperature: m.temperature } : {}),
    };
    if (tools.length) {
      body.tools = tools;
      body.tool_choice = req.toolChoice === 'required' ? { type: 'any' } : { type: 'auto' };
    }
    const { data, request_id } = await this.client.messages
      .create(body, { signal: req.signal, ...(req.timeoutMs ? { timeout: req.timeoutMs } : {}) })
      .withResponse();
    return fromAnthropicMessage(data, request_id);
  }
}
