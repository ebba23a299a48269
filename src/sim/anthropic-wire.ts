import type { Segment } from './tokens';
import type { SimMessage } from './types';
import { asText, record, WireError, type DecodedRequest, type Reply } from './wire-common';

type Block = Record<string, unknown> & { type?: string; cache_control?: unknown };

function blocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

/** Decodes a Messages API request body; `cache_control` marks become cache breakpoints. */
export function decodeAnthropic(raw: unknown): DecodedRequest {
  const body = record(raw, 'request body');
  if (typeof body.model !== 'string' || !body.model) throw new WireError('model: Field required');
  if (typeof body.max_tokens !== 'number') throw new WireError('max_tokens: Field required');
  if (!Array.isArray(body.messages) || !body.messages.length)
    throw new WireError('messages: at least one message is required');
  if (body.stream) throw new WireError('longrun sim does not support streaming (stream: true)');
  const segments: Segment[] = [];
  const tools: string[] = [];
  for (const t of Array.isArray(body.tools) ? (body.tools as Block[]) : []) {
    tools.push(String(t.name));
    segments.push({ text: JSON.stringify({ ...t, cache_control: undefined }), breakpoint: !!t.cache_control });
  }
  const systemBlocks = blocks(body.system);
  for (const b of systemBlocks) segments.push({ text: asText([b]), breakpoint: !!b.cache_control });
  const system = asText(systemBlocks);
  const messages: SimMessage[] = system ? [{ role: 'system', text: system }] : [];
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    const msg = record(m, `messages[${i}]`);
    if (msg.role !== 'user' && msg.role !== 'assistant') {
      throw new WireError(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    const assistant: SimMessage = { role: 'assistant', text: '', toolCalls: [] };
    let userText = '';
    for (const b of blocks(msg.content)) {
      segments.push({
        text: `${String(msg.role)}:${JSON.stringify({ ...b, cache_control: undefined })}`,
        breakpoint: !!b.cache_control,
      });
      if (b.type === 'text') {
        if (msg.role === 'assistant') assistant.text += String(b.text);
        else userText += String(b.text);
      } else if (b.type === 'tool_use') {
        assistant.toolCalls!.push({ id: String(b.id), name: String(b.name), arguments: b.input });
      } else if (b.type === 'tool_result') {
        messages.push({
          role: 'tool',
          text: asText(b.content),
          toolCallId: String(b.tool_use_id),
          ...(b.is_error ? { isError: true } : {}),
        });
      }
    }
    if (msg.role === 'assistant') {
      if (!assistant.toolCalls!.length) delete assistant.toolCalls;
      messages.push(assistant);
    } else if (userText) {
      messages.push({ role: 'user', text: userText });
    }
  }
  // Top-level cache_control (automatic caching) caches the whole prompt.
  if (body.cache_control && segments.length) segments[segments.length - 1].breakpoint = true;
  return { model: body.model, system, messages, tools, segments };
}

/** Encodes a reply as a Message; input_tokens EXCLUDES cache reads and writes, as Anthropic reports it. */
export function encodeAnthropic(model: string, reply: Reply): Record<string, unknown> {
  const content: Array<Record<string, unknown>> = [];
  if (reply.text) content.push({ type: 'text', text: reply.text, citations: null });
  for (const c of reply.toolCalls) {
    // Malformed JSON cannot be sent inside a JSON body as an object: send the raw string instead,
    // which is what a broken proxy or partial parse would hand the SDK.
    content.push({
      type: 'tool_use',
      id: c.id,
      name: c.name,
      input: c.rawArguments ?? c.arguments ?? {},
      caller: { type: 'direct' },
    });
  }
  const { total, cacheRead, cacheWrite } = reply.prompt;
  return {
    id: `msg_${reply.id}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: reply.stopReason,
    stop_sequence: null,
    usage: {
      input_tokens: Math.max(0, total - cacheRead - cacheWrite),
      output_tokens: reply.outputTokens,
      cache_read_input_tokens: cacheRead,
      cache_creation_input_tokens: cacheWrite,
      cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
      service_tier: 'standard',
    },
  };
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function anthropicError(status: number, message: string, requestId: string): Record<string, unknown> {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message }, request_id: requestId };
}
