import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
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

/** Neutral transcript → Chat Completions messages. */
export function toOpenAIMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'system':
      case 'user':
        return { role: m.role, content: m.content };
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content || null,
          ...(m.toolCalls?.length
            ? {
                tool_calls: m.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: JSON.stringify(argumentsForReplay(c)) },
                })),
              }
            : {}),
        };
      case 'tool':
        // Chat Completions has no error flag on tool results; say it in the content.
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.isError ? `ERROR: ${m.content}` : m.content };
    }
  });
}

export function toOpenAITools(tools: ToolSpec[]): ChatCompletionTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

const STOP_REASONS: Record<string, ModelCallResult['stopReason']> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  length: 'max_tokens',
};

/** Chat Completions reply → neutral completion. prompt_tokens INCLUDES cached tokens: subtract them. */
export function fromOpenAICompletion(c: ChatCompletion, requestId?: string | null): Completion {
  const choice = c.choices?.[0];
  const msg = choice?.message;
  const toolCalls: ToolCall[] = [];
  for (const call of msg?.tool_calls ?? []) {
    if (call.type === 'function') {
      toolCalls.push({ id: call.id, name: call.function.name, ...parseToolArguments(call.function.arguments) });
    } else {
      toolCalls.push({
        id: call.id,
        name: call.custom.name,
        argumentsError: 'custom (non-JSON) tool calls are not supported',
      });
    }
  }
  const cached = c.usage?.prompt_tokens_details?.cached_tokens ?? 0;
  let stopReason = STOP_REASONS[choice?.finish_reason ?? ''] ?? 'other';
  if (toolCalls.length && stopReason === 'end_turn') stopReason = 'tool_use'; // some compatible servers say "stop"
  return {
    text: msg?.content ?? msg?.refusal ?? '',
    toolCalls,
    stopReason,
    usage: {
      inputTokens: Math.max(0, (c.usage?.prompt_tokens ?? 0) - cached),
      outputTokens: c.usage?.completion_tokens ?? 0,
      cacheReadTokens: cached,
      cacheWriteTokens: 0,
    },
    ...(requestId ? { requestId } : {}),
  };
}

/**
 * OpenAI Chat Completions, also used for `openai-compatible` servers (Ollama, vLLM, LiteLLM,
 * OpenRouter) with their own base URL. `maxRetries: 0`: retries belong to Temporal.
 */
export class OpenAIProvider implements ModelProvider {
  private readonly client: OpenAI;

  constructor(
    readonly name: 'openai' | 'openai-compatible',
    env: NodeJS.ProcessEnv,
    options: ProviderOptions,
  ) {
    const spec = PROVIDER_ENV[name];
    const apiKey = env[spec.key];
    const baseURL = env[spec.baseUrl];
    if (name === 'openai' && !apiKey) {
      throw new ModelConfigError(`${spec.key} is not set in the worker's environment`);
    }
    if (name === 'openai-compatible' && !baseURL) {
      throw new ModelConfigError(
        `${spec.baseUrl} is not set in the worker's environment (e.g. http://localhost:11434/v1)`,
      );
    }
    // Everything explicit, so the SDK never falls back to process.env behind an injected env.
    this.client = new OpenAI({
      apiKey: apiKey || 'not-needed',
      baseURL: baseURL || 'https://api.openai.com/v1',
      organization: name === 'openai' ? (env.OPENAI_ORG_ID ?? null) : null,
      project: name === 'openai' ? (env.OPENAI_PROJECT_ID ?? null) : null,
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  async complete(req: CompletionRequest): Promise<Completion> {
    const m = req.model;
    const official = this.name === 'openai';
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: m.model,
      messages: toOpenAIMessages(req.messages),
      // OpenAI itself wants max_completion_tokens (reasoning models reject max_tokens); many
      // compatible servers only know max_tokens.
      ...(official ? { max_completion_tokens: m.maxTokens } : { max_tokens: m.maxTokens }),
      ...(m.temperature !== undefined ? { temperature: m.temperature } : {}),
      ...(m.reasoningEffort ? { reasoning_effort: m.reasoningEffort } : {}),
      ...(official && req.cacheKey ? { prompt_cache_key: req.cacheKey.slice(0, 64) } : {}),
    };
    if (req.tools.length) {
      body.tools = toOpenAITools(req.tools);
      body.tool_choice = req.toolChoice ?? 'auto';
    }
    const { data, request_id } = await this.client.chat.completions
      .create(body, { signal: req.signal, ...(req.timeoutMs ? { timeout: req.timeoutMs } : {}) })
      .withResponse();
    return fromOpenAICompletion(data, request_id);
  }
}
