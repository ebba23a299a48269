import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startSimulator, type Simulator } from '../../src/sim';
import type { Scenario } from '../../src/sim/types';
import { workerSettings } from '../../src/workers/options';
import { createWorkers, type LongrunWorkers } from '../../src/workers/worker';
import { uniqueTaskQueue } from './temporal';

/** The models a test run uses: both SDKs, real model names so prices apply. */
export const TEST_MODELS = {
  planner: { provider: 'openai', model: 'gpt-5' },
  subplanner: { provider: 'openai', model: 'gpt-5-mini' },
  worker: { provider: 'anthropic', model: 'claude-haiku-4-5' },
  judge: { provider: 'anthropic', model: 'claude-sonnet-4-6' },
  compactor: { provider: 'openai', model: 'gpt-5-mini' },
} as const;

export interface Harness {
  taskQueue: string;
  home: string;
  sim: Simulator;
  env: NodeJS.ProcessEnv;
  workers: LongrunWorkers;
  running: Promise<void>;
  stop(): Promise<void>;
}

/** A simulator, a longrun worker process (in-process) on its own task queue, and a state dir, for one test file. */
export async function startHarness(
  env: TestWorkflowEnvironment,
  scenario: Scenario,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Harness> {
  const sim = await startSimulator({ scenario });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-home-'));
  const taskQueue = uniqueTaskQueue('run');
  const runEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...sim.env,
    OPENAI_API_KEY: 'sk-test-openai-0123456789',
    ANTHROPIC_API_KEY: 'sk-ant-test-0123456789',
    LONGRUN_HOME: home,
    LONGRUN_TASK_QUEUE: taskQueue,
    LONGRUN_HOST_ID: `test-${process.pid}`,
    TEMPORAL_ADDRESS: env.address,
    LONGRUN_SANDBOX: 'off',
    ...extraEnv,
  };
  const workers = await createWorkers(workerSettings(runEnv), {
    env: runEnv,
    workflowBundle: { codePath: process.env.LONGRUN_TEST_WORKFLOW_BUNDLE! },
  });
  const running = workers.run();
  return {
    taskQueue,
    home,
    sim,
    env: runEnv,
    workers,
    running,
    async stop() {
      workers.shutdown();
      await running;
      await sim.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
