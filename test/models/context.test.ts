import * as fs from 'node:fs/promises';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createModelActivities } from '../../src/activities/model';
import { loadConfig } from '../../src/config';
import type { ModelCallInput } from '../../src/core/types';
import { startSimulator, type ScenarioFn, type Simulator } from '../../src/sim';
import { ArtifactStore } from '../../src/store/artifacts';
import { tempDir } from '../helpers/temporal';
import { conversation, FINISH, model } from '../sim/helpers';

/** The activity inside an activity context: heartbeats, cancellation, the per-provider limit. */
describe('callModel in an activity context', () => {
  let dir: string;
  let store: ArtifactStore;
  let sim: Simulator | undefined;

  beforeEach(async () => {
    dir = await tempDir('model-ctx');
    store = new ArtifactStore(dir);
  });
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function input(id: string): Promise<ModelCallInput> {
    const transcript = await store.append(id, 0, conversation());
    return { runId: 'r', agentId: id, role: 'worker', model: model('openai', 'gpt-5'), transcript, tools: [FINISH] };
  }

  test('heartbeats while the provider is slow, and cancellation aborts the HTTP request', async () => {
    sim = await startSimulator({ scenario: { rules: [{ fault: { kind: 'hang' } }] } });
    const { callModel } = createModelActivities({ config: loadConfig({ LONGRUN_HOME: dir }), store, env: sim.env });
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 3_000, startToCloseTimeoutMs: 60_000 });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.some((b) => (b as { phase?: string })?.phase === 'calling')) env.cancel('CANCELLED');
    });
    const result = env.run(callModel, await input('t/cancel'));
    await expect(result).rejects.toBeInstanceOf(CancelledFailure);
    expect(beats[0]).toEqual({ phase: 'calling' }); // the first beat comes after a third of the heartbeat timeout
    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0].outcome).toBe('hang'); // the server saw the request and then the client hang up
  });

  test('LONGRUN_MODEL_CONCURRENCY_OPENAI=1 turns a burst into a queue', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const hold: ScenarioFn = async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 150));
      inFlight--;
      return { text: 'ok' };
    };
    sim = await startSimulator({ scenario: hold });
    const limited = createModelActivities({
      config: loadConfig({ LONGRUN_HOME: dir }),
      store,
      env: { ...sim.env, LONGRUN_MODEL_CONCURRENCY_OPENAI: '1' },
    });
    const inputs = await Promise.all([1, 2, 3].map((n) => input(`t/limited-${n}`)));
    const results = await Promise.all(inputs.map((i) => limited.callModel(i)));
    expect(results.map((r) => r.text)).toEqual(['ok', 'ok', 'ok']);
    expect(maxInFlight).toBe(1);

    maxInFlight = 0;
    const open = createModelActivities({ config: loadConfig({ LONGRUN_HOME: dir }), store, env: sim.env });
    await Promise.all(inputs.map((i) => open.callModel(i)));
    expect(maxInFlight).toBeGreaterThan(1); // without the limit the same burst overlaps
  });
});
