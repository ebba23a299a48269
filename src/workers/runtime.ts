import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

/** SDK logging at LONGRUN_LOG_LEVEL (default WARN: the bundler's and pollers' INFO lines drown what matters). */
export function installRuntime(env: NodeJS.ProcessEnv = process.env): void {
  if (installed) return;
  installed = true;
  const level = (env.LONGRUN_LOG_LEVEL || 'WARN').toUpperCase() as LogLevel;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already instantiated (e.g. a client connection came first): keep the existing runtime.
  }
}
