import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import type { TurnBatchInput } from '../../src/activities/turns';
import { loadConfig } from '../../src/config';
import { CONTROL } from '../../src/core/control-names';
import { startSimulator, type ScenarioFn, type SimResponse, type Simulator } from '../../src/sim';
import { tempDir } from '../helpers/temporal';
import { conversation, model } from '../sim/helpers';
import { makeRepo, removeDir } from '../tools/fixtures';

const call = (name: string, args: unknown): SimResponse => ({ toolCalls: [{ name, arguments: args }] });
const finish = call(CONTROL.finish, {
  outcome: 'done',
  summary: 'Done.',
  notes: '',
  concerns: [],
  deviations: [],
  findings: [],
});

/**
 * modelCalls 'batched': a worker's turns run in one activity (src/activities/turns.ts), against the simulator through
 * the real OpenAI SDK, with real tools in a real repository. The batch must stop where the workflow has to act, and
 * a model failure must never make it run a turn's tools twice.
 */
describe('runTurns: a worker’s turns in one activity', () => {
  let sim: Simulator | undefined;
  let home: string;
  let repo: string;
  let n = 0;

  beforeEach(async () => {
    home = await tempDir('turns-home');
    repo = await makeRepo({ 'a.txt': 'alpha\n' });
  });
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    removeDir(repo);
    removeDir(home);
  });

  async function start(scenario: ScenarioFn, over: Partial<TurnBatchInput> = {}) {
    sim = await startSimulator({ scenario });
    const env = { ...process.env, ...sim.env, LONGRUN_HOME: home, LONGRUN_SANDBOX: 'off', OPENAI_API_KEY: 'sk-test' };
    const acts = createActivities({ config: loadConfig(env), hostTaskQueue: 'q@test', env });
    const transcriptId = `run-1/c1/planner/t${++n}`;
    const transcript = await acts.appendMessages({ transcriptId, from: 0, messages: conversation() });
    const input: TurnBatchInput = {
      runId: 'run-1',
      agentId: transcriptId,
      role: 'worker',
      model: model('openai', 'gpt-5'),
      toolset: 'worker',
      control: [CONTROL.finish],
      workspace: { path: repo, readOnly: false },
      commandTimeoutMs: 30_000,
      lease: { costUsd: null, tokens: null, deadline: Date.now() + 3_600_000 },
      state: { transcript, contextTokens: 100, steps: 0, usage: {}, lastTool: null },
      maxTurns: 5,
      maxSteps: 60,
      stuckRepeats: 10,
      compactAt: 0.8,
      ...over,
    };
    return { acts, input };
  }

  it('runs plain tool turns and returns the reply that calls finish unanswered, for the workflow', async () => {
    const { acts, input } = await start(
      (req) =>
        [call('write_file', { path: 'notes.txt', content: 'one\n' }), call('read_file', { path: 'notes.txt' }), finish][
          req.turn
        ],
    );
    const r = await acts.runTurns(input);
    expect(r).toMatchObject({
      turns: 2,
      ended: 'pending',
      state: { steps: 2, lastTool: 'read_file: read notes.txt:1-1' },
    });
    expect(fs.readFileSync(path.join(repo, 'notes.txt'), 'utf8')).toBe('one\n');
    // system, user, then per turn the reply and its tool's result; the finish reply is written, its answer is not.
    expect(r.state.transcript.length).toBe(6);
    expect(r.pending!.transcript.length).toBe(7);
    expect(r.pending!.toolCalls.map((c) => c.name)).toEqual([CONTROL.finish]);
    expect(r.pending!.toolCalls[0].arguments).toMatchObject({ outcome: 'done' }); // inline, as for a single call
    expect(r.state.usage.worker?.calls).toBe(2);
    expect(sim!.requests).toHaveLength(3);
  });

  it('stops after maxTurns, at the step limit, and when a repeated call is worth a warning', async () => {
    const { acts, input } = await start(() => call('read_file', { path: 'a.txt' }));
    const batch = await acts.runTurns({ ...input, maxTurns: 3 });
    expect(batch).toMatchObject({ turns: 3, ended: 'turns', pending: null, state: { steps: 3 } });
    const limit = await acts.runTurns({ ...input, state: batch.state, maxSteps: 4 });
    expect(limit).toMatchObject({ turns: 1, ended: 'steps', state: { steps: 4 } });
    // The same call again and again: lib/stuck.ts warns at `stuckRepeats` in a row.
    const stuck = await acts.runTurns({ ...input, state: limit.state, stuckRepeats: 6 });
    expect(stuck).toMatchObject({ turns: 2, ended: 'stuck', stuck: { kind: 'warn' } });
    expect(stuck.stuck!.kind === 'warn' && stuck.stuck!.what).toContain('read_file');
  });

  it('a model failure after the first turn ends the batch with its progress; the next batch fails on it, tools not rerun', async () => {
    let failures = 0;
    const { acts, input } = await start((req) => {
      if (req.turn === 0) return call('run_command', { command: 'echo ran >> log.txt' });
      if (failures++ < 2) return { fault: { status: 500, message: 'overloaded' } };
      return finish;
    });
    const first = await acts.runTurns(input);
    expect(first).toMatchObject({ turns: 1, ended: 'model-error', pending: null, state: { steps: 1 } });
    // The next batch's first call fails as the activity (Temporal retries it); the command is not run again.
    await expect(acts.runTurns({ ...input, state: first.state })).rejects.toBeInstanceOf(ApplicationFailure);
    const retried = await acts.runTurns({ ...input, state: first.state });
    expect(retried).toMatchObject({ turns: 0, ended: 'pending', state: { steps: 1 } });
    expect(fs.readFileSync(path.join(repo, 'log.txt'), 'utf8')).toBe('ran\n');
  });
});
