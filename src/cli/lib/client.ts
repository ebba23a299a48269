/**
 * How the CLI reaches Temporal: the same environment variables as the worker (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TLS / API key through connectionOptions) plus LONGRUN_UI_URL for links (else the UI that
 * `longrun dev` recorded for that server, else :8233).
 */
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import { loadConfig, paths } from '../../config';
import { connectionOptions } from '../../workers/connection';

export const DEFAULT_ADDRESS = 'localhost:7233';
export const DEFAULT_UI_URL = 'http://localhost:8233';

export interface Target {
  address: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  /** True when TEMPORAL_ADDRESS is unset or names the local default port: the CLI may start a dev server there. */
  localDefault: boolean;
}

export function targetFrom(env: NodeJS.ProcessEnv = process.env): Target {
  const config = loadConfig(env);
  const address = env.TEMPORAL_ADDRESS || DEFAULT_ADDRESS;
  return {
    address,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    uiUrl: (env.LONGRUN_UI_URL || recordedUiUrl(config.home, address) || DEFAULT_UI_URL).replace(/\/+$/, ''),
    localDefault: !env.TEMPORAL_ADDRESS || /^(localhost|127\.0\.0\.1|\[::1\]):7233$/.test(env.TEMPORAL_ADDRESS),
  };
}

const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0):/;
const sameServer = (a: string, b: string) => a.replace(LOOPBACK, 'localhost:') === b.replace(LOOPBACK, 'localhost:');

/** The Web UI URL `longrun dev` recorded for the server at `address` (it may have used --ui-port), if any. */
export function recordedUiUrl(home: string, address: string): string | null {
  try {
    const rec = JSON.parse(fs.readFileSync(paths.devServer(home), 'utf8')) as { address?: string; uiUrl?: string };
    return rec.address && rec.uiUrl && sameServer(rec.address, address) ? rec.uiUrl : null;
  } catch {
    return null;
  }
}

/** The Web UI page of one workflow (a run, or any planner / worker of it). */
export function uiLink(target: Pick<Target, 'uiUrl' | 'namespace'>, workflowId: string): string {
  return `${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export interface Connected {
  client: Client;
  connection: Connection;
  target: Target;
  /** Runs `fn` with a deadline, so a query to a workflow no worker serves fails instead of hanging. */
  within<T>(ms: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class TemporalUnreachable extends Error {}

export async function connect(env: NodeJS.ProcessEnv = process.env, target = targetFrom(env)): Promise<Connected> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(target.address, env), connectTimeout: 5_000 });
  } catch (err) {
    throw new TemporalUnreachable(
      `cannot reach Temporal at ${target.address} (${(err as Error).message}); ` +
        'start it with `longrun dev`, or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE / TLS settings) to your cluster',
    );
  }
  const client = new Client({ connection, namespace: target.namespace });
  return {
    client,
    connection,
    target,
    within: (ms, fn) => connection.withDeadline(Date.now() + ms, fn),
    close: () => connection.close(),
  };
}

/** Opens a connection, runs `fn`, always closes. */
export async function withClient<T>(
  fn: (c: Connected) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const c = await connect(env);
  try {
    return await fn(c);
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** True when some worker polled the task queue recently: otherwise a started run would wait silently. */
export async function workerPolling(c: Connected, taskQueue: string): Promise<boolean> {
  try {
    const res = await c.within(5_000, () =>
      c.client.workflowService.describeTaskQueue({
        namespace: c.target.namespace,
        taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ },
        taskQueueType: 1 /* WORKFLOW */,
      }),
    );
    return (res.pollers ?? []).length > 0;
  } catch {
    return true; // cannot tell: do not warn
  }
}
