import { asText, record, WireError, type DecodedRequest, type Reply } from './wire-common';
import type { SimMessage, SimToolCall } from './types';

/** Decodes a Chat Completions request body. */
export function decodeOpenAI(raw: unknown): DecodedRequest {
  const body = record(raw, 'request body');
  if (typeof body.model !== 'string' || !body.model) throw new WireError('you must provide a model parameter');
  if (!Array.isArray(body.messages) || !body.messages.length)
    throw new WireError("'messages' must be a non-empty array");
  if (body.stream) throw new WireError('longrun sim does not support streaming (stream: true)');
  const messages: SimMessage[] = [];
  const segments = [];
  const tools: string[] = [];
  for (const t of Array.isArray(body.tools) ? body.tools : []) {
    const fn = record(record(t, 'tools[]').function, 'tools[].function');
    tools.push(String(fn.name));
    segments.push({ text: JSON.stringify(t) });
  }
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    const msg = record(m, `messages[${i}]`);
    const role = msg.role;
    const text = asText(msg.content);
    if (role === 'system' || role === 'developer' || role === 'user') {
      messages.push({ role: role === 'user' ? 'user' : 'system', text });
    } else if (role === 'assistant') {
      const toolCalls: SimToolCall[] = (Array.isArray(msg.tool_calls) ? msg.tool_calls : []).map(
        (c: { id?: string; function?: { name?: string; arguments?: string } }) => {
          let args: unknown = c.function?.arguments;
          try {
            args = JSON.parse(c.function?.arguments ?? '');
          } catch {
            // keep the raw string
          }
          return { id: String(c.id), name: String(c.function?.name), arguments: args };
        },
      );
      messages.push({ role: 'assistant', text, ...(toolCalls.length ? { toolCalls } : {}) });
    } else if (role === 'tool') {
      messages.push({ role: 'tool', text, toolCallId: String(msg.tool_call_id) });
    } else {
      throw new WireError(`messages[${i}].role "${String(role)}" is not supported`);
    }
    segments.push({ text: JSON.stringify(msg) });
  }
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.text)
    .join('\n');
  return { model: body.model, system, messages, tools, segments };
}

const FINISH = { end_turn: 'stop', tool_use: 'tool_calls', max_tokens: 'length' } as const;

/** Encodes a reply as a ChatCompletion, usage as OpenAI reports it (prompt_tokens INCLUDES cached). */
export function encodeOpenAI(model: string, reply: Reply, created: number): Record<string, unknown> {
  const toolCalls = reply.toolCalls.map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: c.rawArguments ?? JSON.stringify(c.arguments ?? {}) },
  }));
  return {
    id: `chatcmpl-${reply.id}`,
    object: 'chat.completion',
    created,
    model,
    system_fingerprint: 'fp_longrun_sim',
    service_tier: 'default',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.text || (toolCalls.length ? null : ''),
          refusal: null,
          annotations: [],
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: FINISH[reply.stopReason],
      },
    ],
    usage: {
      prompt_tokens: reply.prompt.total,
      completion_tokens: reply.outputTokens,
      total_tokens: reply.prompt.total + reply.outputTokens,
      prompt_tokens_details: { cached_tokens: reply.prompt.cacheRead, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  };
}

const ERROR_TYPES: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'unsupported_country_region_territory'],
  404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'],
};

export function openAIError(status: number, message: string, code?: string): Record<string, unknown> {
  const [type, defaultCode] =
    ERROR_TYPES[status] ?? (status >= 500 ? ['server_error', null] : ['invalid_request_error', null]);
  return { error: { message, type, param: null, code: code ?? defaultCode } };
}
