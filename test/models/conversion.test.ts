import type { ChatMessage } from '../../src/core/types';
import { placeCacheBreakpoints, toAnthropicPayload, toAnthropicTools } from '../../src/models/providers/anthropic';
import { toOpenAIMessages } from '../../src/models/providers/openai';
import { parseToolArguments } from '../../src/models/providers/provider';

const transcript: ChatMessage[] = [
  { role: 'system', content: 'sys' },
  { role: 'user', content: 'task' },
  {
    role: 'assistant',
    content: '',
    toolCalls: [
      { id: 'a', name: 'read', arguments: { p: 1 } },
      { id: 'b', name: 'bad', argumentsError: 'x' },
    ],
  },
  { role: 'tool', toolCallId: 'a', name: 'read', content: 'data' },
  { role: 'tool', toolCallId: 'b', name: 'bad', content: 'invalid JSON', isError: true },
  { role: 'system', content: 'note' },
];

describe('wire conversion', () => {
  test('anthropic: leading system → system param; tool results merged into one user message, first', () => {
    const p = toAnthropicPayload(transcript);
    expect(p.system).toEqual([{ type: 'text', text: 'sys' }]);
    expect(p.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'task' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'a', name: 'read', input: { p: 1 } },
          { type: 'tool_use', id: 'b', name: 'bad', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'a', content: 'data' },
          { type: 'tool_result', tool_use_id: 'b', content: 'invalid JSON', is_error: true },
          { type: 'text', text: '[system] note' },
        ],
      },
    ]);
  });

  test('anthropic: breakpoints on system, last tool, and the last two messages (max 4)', () => {
    const p = toAnthropicPayload(transcript);
    const tools = toAnthropicTools([
      { name: 't1', description: '', parameters: { properties: {} } },
      { name: 't2', description: '', parameters: { properties: {} } },
    ]);
    placeCacheBreakpoints(p, tools);
    const marked = [
      ...p.system,
      ...tools,
      ...p.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content)),
    ].filter((b) => (b as { cache_control?: unknown }).cache_control);
    expect(marked).toHaveLength(4);
    expect(tools[1].cache_control).toEqual({ type: 'ephemeral' });
    expect(tools[0].input_schema.type).toBe('object');
  });

  test('openai: roles map 1:1, tool calls carry JSON strings, errors are flagged in content', () => {
    const m = toOpenAIMessages(transcript);
    expect(m[2]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'a', type: 'function', function: { name: 'read', arguments: '{"p":1}' } },
        { id: 'b', type: 'function', function: { name: 'bad', arguments: '{}' } },
      ],
    });
    expect(m[4]).toEqual({ role: 'tool', tool_call_id: 'b', content: 'ERROR: invalid JSON' });
    expect(m[5]).toEqual({ role: 'system', content: 'note' });
  });

  test('parseToolArguments never throws', () => {
    expect(parseToolArguments('{"a":1}')).toEqual({ arguments: { a: 1 } });
    expect(parseToolArguments('')).toEqual({ arguments: {} });
    expect(parseToolArguments('{"a":')).toEqual({
      argumentsError: expect.stringMatching(/^invalid JSON .* in: \{"a":$/),
    });
    expect(parseToolArguments('[1]').argumentsError).toMatch(/must be a JSON object/);
    expect(parseToolArguments({ x: 1 })).toEqual({ arguments: { x: 1 } });
  });
});
