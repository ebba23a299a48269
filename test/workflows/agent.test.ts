import { DEFAULT_LIMITS } from '../../src/core/schemas';
import type { ResolvedModel } from '../../src/core/types';
import { agentFor, agentStartOptions, newAgentState, restoreAgentState, resubmit } from '../../src/workflows/agent';
import type { Acts } from '../../src/workflows/activities';
import type { ResolvedRun } from '../../src/workflows/definitions';

/** The agent plumbing every role shares, as pure functions: no Temporal. */
describe('agent plumbing', () => {
  const transcript = { id: 'run/c1/planner/t1#2', length: 40 };

  it('restores the loop state from a carry, compactions included (the next compaction gets a fresh transcript)', () => {
    const s = restoreAgentState({
      transcript,
      contextTokens: 9_000,
      compactions: 2,
      steps: 31,
      usage: { worker: { calls: 31, costUsd: 1.5 } as never },
    });
    expect(s).toEqual({
      ...newAgentState(transcript, 9_000),
      compactions: 2,
      steps: 31,
      usage: { worker: { calls: 31, costUsd: 1.5 } },
    });
  });

  it('restores a carry of an older version, which had no steps or usage, from zero', () => {
    expect(restoreAgentState({ transcript, contextTokens: 100, compactions: 1 })).toEqual({
      transcript,
      contextTokens: 100,
      steps: 0,
      usage: {},
      emptyReplies: 0,
      compactions: 1,
      lastTool: null,
    });
  });

  it("builds an agent from the run's model for its role and the run's command timeout", () => {
    const model = (name: string) => ({ provider: 'openai', model: name }) as ResolvedModel;
    const run = {
      runId: 'run',
      models: {
        planner: model('p'),
        subplanner: model('s'),
        worker: model('w'),
        judge: model('j'),
        compactor: model('c'),
      },
      limits: { ...DEFAULT_LIMITS, commandTimeoutSeconds: 90 },
    } as unknown as ResolvedRun;
    const lease = { costUsd: 1, tokens: null, deadline: 5 };
    const setup = {
      agentId: 'run/c1/planner/t1',
      acts: {} as Acts,
      toolset: 'worker' as const,
      control: ['finish'],
      hostQueue: 'longrun@h',
      workspace: null,
      lease,
    };
    const agent = agentFor(run, 'worker', setup);
    expect(agent).toMatchObject({
      runId: 'run',
      role: 'worker',
      model: { model: 'w' },
      compactor: { model: 'c' },
      modelCalls: 'activity',
      commandTimeoutMs: 90_000,
      label: 'worker step',
      lease,
    });
    expect(agentFor({ ...run, modelCalls: 'local' }, 'judge', { ...setup, toolset: 'judge' })).toMatchObject({
      model: { model: 'j' },
      modelCalls: 'local',
    });
  });

  it("starts agents with limits.localTaskTimeoutSeconds only when their model calls are local and it is not Temporal's 10 s", () => {
    const limits = (seconds?: number) => ({ ...DEFAULT_LIMITS, localTaskTimeoutSeconds: seconds as number });
    expect(agentStartOptions({ modelCalls: 'local', limits: limits(60) })).toEqual({ workflowTaskTimeout: 60_000 });
    expect(agentStartOptions({ modelCalls: 'activity', limits: limits(60) })).toEqual({});
    expect(agentStartOptions({ modelCalls: undefined, limits: limits(60) })).toEqual({});
    // The default, and histories recorded before the limit existed: the same start commands as before.
    expect(agentStartOptions({ modelCalls: 'local', limits: limits(10) })).toEqual({});
    expect(agentStartOptions({ modelCalls: 'local', limits: limits(undefined) })).toEqual({});
  });

  it('answers an invalid control call with its problems and asks for it again', () => {
    expect(resubmit('plan')(['tasks: required', 'done: expected boolean'])).toBe(
      'Your plan is invalid:\n- tasks: required\n- done: expected boolean\nSubmit it again, corrected.',
    );
  });
});
