import { describeSandbox, sandboxSettingsFromEnv } from '../tools/sandbox';
import { installRuntime } from './runtime';
import { createWorkers } from './worker';
import { workerSettings } from './options';

/**
 * The longrun worker process. The SDK's runtime shuts workers down gracefully on SIGINT/SIGTERM:
 * polling stops, running activities get their grace period, then run() resolves.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  installRuntime(env);
  const settings = workerSettings(env);
  // Configuration only: keys and tokens are never logged.
  console.log(
    `[longrun worker] address=${settings.temporalAddress} namespace=${settings.namespace} taskQueue=${settings.taskQueue} ` +
      `hostQueue=${settings.hostTaskQueue} home=${settings.home} maxActivities=${settings.maxConcurrentActivities} ` +
      `maxWorkflowTasks=${settings.maxConcurrentWorkflowTasks} maxLocalActivities=${settings.maxConcurrentLocalActivities} tls=${settings.tls} apiKey=${settings.hasApiKey ? 'set' : 'unset'}`,
  );
  // How agent-written code runs here; without a working bubblewrap (and no LONGRUN_SANDBOX=off) runs are refused.
  const sandbox = await describeSandbox(sandboxSettingsFromEnv(env), env.PATH);
  (sandbox.ok ? console.log : console.warn)(`[longrun worker] sandbox: ${sandbox.message}`);
  // A prebuilt workflow bundle (bundleWorkflowCode output) skips bundling at start: restarts take seconds, not ~10 s.
  const bundle = env.LONGRUN_WORKFLOW_BUNDLE;
  const workers = await createWorkers(settings, { env, ...(bundle ? { workflowBundle: { codePath: bundle } } : {}) });
  await workers.run();
  console.log('[longrun worker] stopped');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
