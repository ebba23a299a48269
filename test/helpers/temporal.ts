import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { installRuntime } from '../../src/workers/runtime';

/** Connects to the dev server the global setup started (one per test run). Close it in afterAll. */
export async function testEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.LONGRUN_TEST_TEMPORAL_ADDRESS;
  installRuntime({ LONGRUN_LOG_LEVEL: process.env.LONGRUN_LOG_LEVEL ?? 'WARN' }); // before anything creates the runtime
  if (!address)
    throw new Error('LONGRUN_TEST_TEMPORAL_ADDRESS is not set: run tests through jest (test/setup/global-setup.ts)');
  return TestWorkflowEnvironment.createFromExistingServer({ address, namespace: 'default' });
}

/** The Temporal CLI the global setup found or installed. */
export function temporalCli(): string {
  const cli = process.env.LONGRUN_TEST_TEMPORAL_CLI;
  if (!cli) throw new Error('LONGRUN_TEST_TEMPORAL_CLI is not set: run tests through jest');
  return cli;
}

let counter = 0;
/** Each test gets its own task queue so tests never steal each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `longrun-${prefix}-`));
}
