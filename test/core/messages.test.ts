import { compactHandoff, guidanceMessage, handoffsMessage } from '../../src/core/messages';
import type { Handoff } from '../../src/core/types';

const h: Handoff = {
  taskId: 'c1/planner/t1',
  title: 'Add clamp',
  status: 'merged',
  summary: 'Added clamp.',
  notes: 'n',
  concerns: ['c1', 'c2', 'c3', 'c4'],
  deviations: [],
  findings: ['f'],
  commit: '0123456789abcdef',
  filesChanged: ['lib/clamp.js'],
  usage: {},
  steps: 3,
};

describe('messages to planners', () => {
  it('shows each handoff with its status, commit, concerns, findings and files, and asks for a plan', () => {
    const m = handoffsMessage([h, { ...h, taskId: 'c1/planner/t2', status: 'failed', commit: null }], 2);
    expect(m).toMatch(/^2 handoff\(s\) arrived; 2 agent\(s\) still running\./);
    expect(m).toContain('### c1/planner/t1: Add clamp — merged (0123456789)');
    expect(m).toContain('### c1/planner/t2: Add clamp — failed\n');
    expect(m).toContain('Concerns:\n- c1');
    expect(m).toContain('Findings:\n- f');
    expect(m).toContain('Files: lib/clamp.js');
    expect(m).toContain('submit_plan');
    expect(handoffsMessage([h], 0)).toMatch(/^1 handoff\(s\) arrived\.\n/);
  });

  it('quotes new guidance and lists the queued work it will replace', () => {
    const m = guidanceMessage(
      ['Add a LICENSE'],
      [
        { kind: 'task', spec: { title: 'Add max' } },
        { kind: 'scope', spec: { scope: 'lib/geometry' } },
      ],
    );
    expect(m).toContain('> Add a LICENSE');
    expect(m).toContain('Work queued but not started:\n- Add max\n- sub-planner: lib/geometry');
    expect(guidanceMessage(['x'], [])).toContain('Nothing is queued.');
  });

  it('keeps a bounded handoff for the result', () => {
    const long = compactHandoff({ ...h, summary: 'x'.repeat(900) });
    expect(long.summary).toHaveLength(501);
    expect(long.concerns).toHaveLength(3);
  });
});
