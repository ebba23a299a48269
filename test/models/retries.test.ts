import * as fs from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createModelActivities } from '../../src/activities/model';
import { loadConfig } from '../../src/config';
import { MODEL_ERRORS, type ModelCallInput, type ProviderName } from '../../src/core/types';
import { startSimulator, type RulesScenario, type Simulator } from '../../src/sim';
import { ArtifactStore } from '../../src/store/artifacts';
import { tempDir, testEnv, uniqueTaskQueue } from '../helpers/temporal';
import { modelCallWorkflow } from '../workflows/models';
import { conversation, FINISH, model } from '../sim/helpers';

/** Retries belong to Temporal: the activity classifies, the server waits as the provider asked. */
describe('model call retries through real Temporal', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let sim: Simulator | undefined;

  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });
  beforeEach(async () => {
    dir = await tempDir('model-retry');
  });
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function run(provider: ProviderName, scenario: RulesScenario) {
    sim = await startSimulator({ scenario });
    const store = new ArtifactStore(dir);
    const taskQueue = uniqueTaskQueue('models');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../workflows/models'),
      activities: createModelActivities({ config: loadConfig({ LONGRUN_HOME: dir }), store, env: sim.env }),
    });
    const transcript = await store.append('run-r/task-1', 0, conversation());
    const input: ModelCallInput = {
      runId: 'run-r',
      agentId: 'run-r/task-1',
      role: 'worker',
      model: model(provider, provider === 'openai' ? 'gpt-5' : 'claude-sonnet-4-6'),
      transcript,
      tools: [FINISH],
      inlineArgumentsFor: ['finish'],
    };
    const workflowId = `models-${taskQueue}`;
    const outcome = await worker.runUntil(
      env.client.workflow.execute(modelCallWorkflow, { taskQueue, workflowId, args: [input] }).then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => ({ value: undefined, error }),
      ),
    );
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    return { ...outcome, attempts, store };
  }

  test.each(['anthropic', 'openai'] as const)(
    '%s: two 429s with retry-after: 1 then success → attempt 3, spaced by the header',
    async (provider) => {
      const { value, error, attempts, store } = await run(provider, {
        rules: [
          { fault: { status: 429, retryAfterSeconds: 1 }, times: 2 },
          { respond: { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] } },
        ],
      });
      expect(error).toBeUndefined();
      expect(value!.toolCalls).toEqual([{ id: expect.any(String), name: 'finish', arguments: { summary: 'ok' } }]);
      expect(attempts).toEqual([3]); // history records the attempt that completed
      const times = sim!.requests.map((r) => r.time);
      expect(sim!.requests.map((r) => r.status)).toEqual([429, 429, 200]);
      // The retry policy alone would wait 50 ms; the header asked for 1 s.
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(950);
      expect(await store.readEntry(value!.transcript.id, 2)).toMatchObject({ role: 'assistant' });
    },
  );

  test('401 fails at once, is not retried, and names the role', async () => {
    const { error, attempts } = await run('anthropic', { rules: [{ fault: { status: 401 } }] });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(MODEL_ERRORS.auth);
    expect((cause as ApplicationFailure).message).toMatch(
      /^worker model anthropic:claude-sonnet-4-6: 401 invalid x-api-key — check ANTHROPIC_API_KEY/,
    );
    expect(sim!.requests).toHaveLength(1);
    expect(attempts).toEqual([1]);
  });
});
