import type { SimMessage, SimRequest, SimResponse } from '../../src/sim/types';
import { agentKey, repairFailedTools, withFaults } from './helpers/scenarios';

/** The fault suite's scenario wrappers are test code with logic of their own: they get their own checks. */
const WORKER = 'You are a senior software engineer working autonomously on one task.';

function request(messages: SimMessage[], index = 0): SimRequest {
  return {
    index,
    api: 'openai',
    path: '/v1/chat/completions',
    model: 'm',
    turn: messages.filter((m) => m.role === 'assistant').length,
    system: WORKER,
    messages,
    text: [WORKER, ...messages.map((m) => m.text)].join('\n'),
    lastText: messages.at(-1)?.text ?? '',
    tools: ['read_file', 'write_file', 'edit_file', 'run_command', 'finish'],
    body: {},
  };
}

const briefing: SimMessage = { role: 'user', text: '# Your task: Add clamp() in lib/clamp.js' };
const edit = { id: 'c1', name: 'edit_file', arguments: { path: 'CHANGELOG.md', oldText: 'A', newText: 'A\n- clamp' } };
const write = { id: 'c2', name: 'write_file', arguments: { path: 'lib/clamp.js', content: 'x' } };

describe('repairFailedTools (a model calling a tool again after an infrastructure failure)', () => {
  it('re-issues a failed write as is, and re-reads a failed edit before re-applying it', () => {
    const req = request([
      briefing,
      { role: 'assistant', text: '', toolCalls: [write, edit] },
      { role: 'tool', toolCallId: 'c2', text: 'The tool failed: activity Heartbeat timeout', isError: true },
      { role: 'tool', toolCallId: 'c1', text: 'The tool failed: activity Heartbeat timeout', isError: true },
    ]);
    const calls = repairFailedTools(req)!.toolCalls!;
    expect(calls.map((c) => [c.name, c.arguments])).toEqual([
      ['write_file', write.arguments],
      ['read_file', { path: 'CHANGELOG.md' }],
    ]);
    expect(calls[1].id).toBe('recheck_c1');
  });

  it('re-applies an edit only when the re-read shows it missing', () => {
    const after = (content: string) =>
      request([
        briefing,
        { role: 'assistant', text: '', toolCalls: [edit] },
        { role: 'tool', toolCallId: 'c1', text: 'The tool failed: activity Heartbeat timeout', isError: true },
        {
          role: 'assistant',
          text: '',
          toolCalls: [{ id: 'recheck_c1', name: 'read_file', arguments: { path: 'CHANGELOG.md' } }],
        },
        { role: 'tool', toolCallId: 'recheck_c1', text: content },
      ]);
    expect(repairFailedTools(after('     1\tA\n'))!.toolCalls!.map((c) => c.name)).toEqual(['edit_file']);
    expect(repairFailedTools(after('     1\tA\n     2\t- clamp\n'))).toBeNull(); // applied before the crash
  });

  it('leaves turns without infrastructure failures to the scenario', () => {
    const req = request([
      briefing,
      { role: 'assistant', text: '', toolCalls: [write] },
      { role: 'tool', toolCallId: 'c2', text: "path '../x' is outside the workspace", isError: true },
    ]);
    expect(repairFailedTools(req)).toBeNull();
  });
});

describe('withFaults', () => {
  const answer: SimResponse = { toolCalls: [write, edit] };
  const base = () => answer;

  it('corrects an unknown tool name with only the call that failed', async () => {
    const scenario = withFaults(base, [{ name: 'unknown', when: () => true, conversation: 'unknown-tool' }]);
    const first = (await scenario(request([briefing])))!;
    expect(first.toolCalls!.map((c) => c.name)).toEqual(['write_file_v2', 'edit_file']);
    const next = (await scenario(
      request([briefing, { role: 'assistant', text: '', toolCalls: first.toolCalls as never }], 1),
    ))!;
    expect(next.toolCalls!.map((c) => [c.name, c.arguments])).toEqual([['write_file', write.arguments]]);
    expect(scenario.log.map((l) => l.rule)).toEqual(['unknown']);
  });

  it('keeps a correction for the retried request after an HTTP fault, and injects each fault `times` times', async () => {
    const scenario = withFaults(base, [
      { name: 'empty', when: () => true, conversation: 'empty-reply' },
      { name: '429', when: (r) => r.index === 1, times: 1, http: { status: 429, retryAfterSeconds: 1 } },
    ]);
    expect((await scenario(request([briefing], 0)))!.toolCalls).toBeUndefined(); // empty reply
    const nudged = request(
      [briefing, { role: 'assistant', text: 'hmm' }, { role: 'user', text: 'Continue by calling a tool.' }],
      1,
    );
    expect((await scenario(nudged))!.fault).toEqual({ status: 429, retryAfterSeconds: 1 });
    const retried = (await scenario({ ...nudged, index: 2 }))!;
    expect(retried.toolCalls!.map((c) => c.name)).toEqual(['write_file', 'edit_file']);
    expect(scenario.log.map((l) => l.rule)).toEqual(['empty', '429']);
  });

  it('tells agents apart by their briefing', () => {
    const other = request([{ role: 'user', text: '# Your task: Add mean() in lib/mean.js' }]);
    expect(agentKey(request([briefing]))).not.toBe(agentKey(other));
    expect(agentKey(request([briefing]))).toBe(agentKey(request([briefing, { role: 'assistant', text: 'x' }])));
  });
});
