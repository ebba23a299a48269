import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes';

const run = promisify(execFile);

export interface DevServerOptions {
  cli: string;
  /** SQLite file; the server's state survives restarts when this is kept. */
  dbFile: string;
  port?: number;
  uiPort?: number;
  ip?: string;
  namespace?: string;
  headless?: boolean;
  /** Extra `--dynamic-config-value key=value` settings (values JSON-encoded by us); they override DEV_SERVER_DYNAMIC_CONFIG. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** `--sqlite-pragma name=value` settings; they override DEV_SERVER_SQLITE_PRAGMAS. */
  sqlitePragmas?: Record<string, string>;
  logFile?: string;
  /** How long to wait for the server to answer. The SDK's createLocal gives 5 s, which flakes on cold machines. */
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Dynamic config longrun's dev server starts with (measured in bench/overhead.ts, docs/BENCHMARKS.md).
 * The dev server has one history shard, and its transfer queue is read at most `transferProcessorMaxPollRPS`
 * (default 20) times a second: once tasks come faster than that, every workflow and activity task waits for the next
 * 50 ms read, 4 such waits per agent step. 1000 takes the wait away (a single agent's step: 196 → 67 ms) and costs
 * nothing when idle.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  'history.transferProcessorMaxPollRPS': 1000,
  // Agents run on their host's queue and schedule their activities there: the server hands the activity back in the
  // response to the workflow task that scheduled it, instead of through matching (one round trip less per step).
  'system.enableActivityEagerExecution': true,
};

/**
 * SQLite settings. The default rollback journal creates, fsyncs and deletes a journal file per transaction: about
 * half of the server's CPU went to the file system. Write-ahead logging keeps synchronous=FULL (every commit is
 * durable) at a quarter less CPU per agent step.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Record<string, string> = { journal_mode: 'wal' };

/** Starts `temporal server start-dev` and waits until it answers; registers longrun's search attributes. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (opts.headless ? undefined : await freePort());
  const namespace = opts.namespace ?? 'default';
  await fs.promises.mkdir(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    ip,
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  for (const [k, v] of Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...opts.dynamicConfig })) {
    args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  }
  for (const [k, v] of Object.entries({ ...DEV_SERVER_SQLITE_PRAGMAS, ...opts.sqlitePragmas })) {
    args.push('--sqlite-pragma', `${k}=${v}`);
  }
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  // Own process group, so stop() takes the server's children with it.
  const child = spawn(opts.cli, args, { stdio: ['ignore', out, out], detached: true });
  if (typeof out === 'number') fs.closeSync(out);
  const address = `${ip}:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  try {
    await waitForServer(address, opts.startTimeoutMs ?? 60_000, exited);
    await registerSearchAttributes(opts.cli, address, namespace);
  } catch (err) {
    await stopProcessGroup(child);
    throw err;
  }
  return {
    address,
    uiUrl: uiPort ? `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}` : null,
    pid: child.pid!,
    stop: () => stopProcessGroup(child),
  };
}

/** True when a Temporal frontend answers at `address`. */
export async function serverAnswers(address: string, timeoutMs = 2_000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function waitForServer(address: string, timeoutMs: number, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead: number | null | undefined;
  void exited.then((code) => (dead = code));
  while (Date.now() < deadline) {
    if (dead !== undefined)
      throw new Error(`temporal server start-dev exited with code ${dead} before answering at ${address}`);
    if (await serverAnswers(address, 1_000)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`temporal server start-dev did not answer at ${address} within ${timeoutMs} ms`);
}

/**
 * `--search-attribute` on start-dev is silently ignored on an existing database, so attributes are created
 * through the operator API, skipping those that exist.
 */
export async function registerSearchAttributes(cli: string, address: string, namespace: string): Promise<void> {
  const conn = ['--address', address, '--namespace', namespace];
  const { stdout } = await run(cli, ['operator', 'search-attribute', 'list', ...conn, '-o', 'json'], {
    timeout: 30_000,
  });
  const existing = (JSON.parse(stdout) as { customAttributes?: Record<string, string> }).customAttributes ?? {};
  // One call per attribute: this CLI version registers only the first of several --name flags.
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    if (name in existing) continue;
    await run(cli, ['operator', 'search-attribute', 'create', ...conn, '--name', name, '--type', type], {
      timeout: 30_000,
    });
  }
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopProcessGroup(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
