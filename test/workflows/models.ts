/** Test workflow: one model call through a Temporal retry policy (test/models/retries.test.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { createModelActivities } from '../../src/activities/model';
import type { ModelCallInput, ModelCallResult } from '../../src/core/types';

const { callModel } = proxyActivities<ReturnType<typeof createModelActivities>>({
  startToCloseTimeout: '30 seconds',
  // A short initial interval: a ~1 s gap between attempts can only come from the retry-after header.
  retry: { initialInterval: '50 milliseconds', backoffCoefficient: 1, maximumAttempts: 5 },
});

export async function modelCallWorkflow(input: ModelCallInput): Promise<ModelCallResult> {
  return callModel(input);
}
