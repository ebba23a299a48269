/**
 * The pieces every bench starts for itself and stops again: a Temporal dev server on a temp SQLite file
 * (headless, 127.0.0.1, a free port), a client, a workflow bundle, and a longrun worker — in this process
 * (createWorkers, like the test harness) or as a child process (`node bin/longrun.js worker`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import {
  DEV_SERVER_DYNAMIC_CONFIG,
  DEV_SERVER_SQLITE_PRAGMAS,
  startDevServer,
  type DevServer,
} from '../../src/dev/dev-server';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import type { Simulator } from '../../src/sim';
import { workerSettings } from '../../src/workers/options';
import { createWorkers } from '../../src/workers/worker';
import { startPostgresCluster } from './postgres-server';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export interface Cluster {
  address: string;
  cli: string;
  client: Client;
  dir: string;
  server: DevServer;
  /** PostgreSQL's postmaster, when the server is the production one (BENCH_SERVER=postgres). */
  databasePid?: number;
  /** The dev server's settings: longrun's defaults with the bench's and BENCH_* overrides applied. */
  settings: { dynamicConfig: Record<string, string | number | boolean>; sqlitePragmas: Record<string, string> };
  stop(): Promise<void>;
}

/** A dev server of our own (temp db, headless) and a client to it. */
export async function startCluster(
  opts: { dynamicConfig?: Record<string, string | number | boolean>; dbDir?: string } = {},
): Promise<Cluster> {
  if (process.env.BENCH_SERVER === 'postgres') return startPostgresCluster(opts);
  const cli = await findTemporalCli();
  const dir = fs.mkdtempSync(path.join(opts.dbDir ?? process.env.BENCH_DB_DIR ?? os.tmpdir(), 'longrun-bench-server-'));
  const dynamicConfig = { ...opts.dynamicConfig, ...envJson('BENCH_DYNAMIC_CONFIG') };
  const sqlitePragmas = envJson('BENCH_SQLITE_PRAGMAS') as Record<string, string>;
  const server = await startDevServer({
    cli,
    dbFile: path.join(dir, 'temporal.sqlite'),
    headless: true,
    ip: '127.0.0.1',
    logFile: path.join(dir, 'server.log'),
    dynamicConfig,
    sqlitePragmas,
    startTimeoutMs: 120_000,
  });
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: server.address });
  } catch (err) {
    await server.stop();
    throw err;
  }
  const client = new Client({ connection, namespace: 'default' });
  return {
    address: server.address,
    cli,
    client,
    dir,
    server,
    settings: {
      dynamicConfig: { ...DEV_SERVER_DYNAMIC_CONFIG, ...dynamicConfig },
      sqlitePragmas: { ...DEV_SERVER_SQLITE_PRAGMAS, ...sqlitePragmas },
    },
    async stop() {
      await connection?.close().catch(() => undefined);
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Dev-server overrides for experiments, as JSON objects: BENCH_DYNAMIC_CONFIG='{"key": value}',
 * BENCH_SQLITE_PRAGMAS='{"journal_mode": "delete"}'.
 */
export function envJson(name: string): Record<string, string | number | boolean> {
  const raw = process.env[name];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, string | number | boolean>;
  } catch (err) {
    throw new Error(`${name} is not a JSON object: ${(err as Error).message}`);
  }
}

let runtimeInstalled = false;

/**
 * Installs the SDK runtime once, before any worker: at `level`, with `onLog` seeing every entry (the overhead
 * bench reads the SDK's DEBUG "Activity started/completed" entries to time activities inside the worker).
 */
export function installBenchRuntime(level: LogLevel = 'WARN', onLog?: (entry: LogEntry) => void): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const print = new DefaultLogger('WARN');
  const logger = new DefaultLogger(level, (entry) => {
    onLog?.(entry);
    if (entry.level === 'WARN' || entry.level === 'ERROR') print.log(entry.level, entry.message, entry.meta);
  });
  Runtime.install({ logger });
}

let bundlePath: string | undefined;

/** The workflow bundle, built once per process (the worker would otherwise bundle on every start). */
export async function workflowBundle(): Promise<{ codePath: string }> {
  if (!bundlePath) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-bundle-'));
    bundlePath = path.join(dir, 'workflows.js');
    fs.writeFileSync(bundlePath, code);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return { codePath: bundlePath };
}

/** The environment of a longrun worker pointed at `cluster` and `sim`, with its own state dir and task queue. */
export function workerEnv(
  cluster: Cluster,
  sim: Pick<Simulator, 'env'>,
  name: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `longrun-bench-${name}-`));
  return {
    ...process.env,
    ...sim.env,
    LONGRUN_HOME: home,
    LONGRUN_TASK_QUEUE: `bench-${name}-${process.pid}`,
    LONGRUN_HOST_ID: `bench-${process.pid}`,
    TEMPORAL_ADDRESS: cluster.address,
    LONGRUN_SANDBOX: 'off',
    LONGRUN_LOG_LEVEL: 'WARN',
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@localhost',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@localhost',
    ...extra,
  };
}

export interface BenchWorker {
  env: NodeJS.ProcessEnv;
  taskQueue: string;
  home: string;
  /** The worker's pid: this process for an in-process worker. */
  pid: number;
  stop(): Promise<void>;
}

/** A longrun worker in this process, as the test harness makes it. */
export async function startInProcessWorker(env: NodeJS.ProcessEnv): Promise<BenchWorker> {
  installBenchRuntime();
  const workers = await createWorkers(workerSettings(env), { env, workflowBundle: await workflowBundle() });
  const running = workers.run();
  return {
    env,
    taskQueue: env.LONGRUN_TASK_QUEUE!,
    home: env.LONGRUN_HOME!,
    pid: process.pid,
    async stop() {
      workers.shutdown();
      await running;
      fs.rmSync(env.LONGRUN_HOME!, { recursive: true, force: true });
    },
  };
}

/** `node bin/longrun.js worker` as a child process (its own event loop and heap: what a deployment runs). */
export async function startChildWorker(
  env: NodeJS.ProcessEnv,
  logFile: string,
  nodeArgs: string[] = [],
): Promise<BenchWorker & { child: ChildProcess }> {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'bin', 'longrun.js'), 'worker'], {
    env,
    cwd: PROJECT_ROOT,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    env,
    taskQueue: env.LONGRUN_TASK_QUEUE!,
    home: env.LONGRUN_HOME!,
    pid: child.pid!,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // graceful: the SDK drains and run() resolves
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(env.LONGRUN_HOME!, { recursive: true, force: true });
    },
  };
}

/** Waits until some worker polls `taskQueue` (a child worker bundles its workflows first, which takes a while). */
export async function waitForPoller(
  client: Client,
  taskQueue: string,
  timeoutMs = 120_000,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `the worker process exited (${child.signalCode ?? `code ${child.exitCode}`}) before polling ${taskQueue}`,
      );
    }
    const res = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    if ((res.pollers ?? []).length > 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no worker polled task queue ${taskQueue} within ${timeoutMs} ms`);
}

/** Resident set size of a process in bytes, from /proc (Linux), or null if it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}
