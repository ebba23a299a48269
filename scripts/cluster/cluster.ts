/**
 * Production Temporal on this machine, without Docker: the pinned server (all four services in one process, more
 * than one history shard) on a private PostgreSQL, with the `default` namespace and longrun's search attributes,
 * reading docker/'s dynamic config. What docker/compose.yaml runs, started from binaries.
 *
 * State lives in one directory: postgres/ (the database cluster), cluster.json (password, shard count, whether the
 * schema exists), temporal.yaml (the server's config, rendered on every start) and the two logs. A temp dir is
 * removed on stop; a directory you name is kept, and the next start reuses its database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { registerSearchAttributes, serverAnswers, stopProcessGroup } from '../../src/dev/dev-server';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import { ensureServerBinaries, type ServerBinaries } from './build';
import {
  choosePorts,
  DEFAULT_HISTORY_SHARDS,
  NAMESPACE,
  PORT_RANGE,
  renderServerConfig,
  TEMPORAL_SERVER_VERSION,
} from './config';
import { startPostgres } from './postgres';

const run = promisify(execFile);

export interface TemporalCluster {
  /** The frontend, host:port. */
  address: string;
  namespace: string;
  dir: string;
  shards: number;
  /** The server process and PostgreSQL's postmaster (whose children are the connection backends). */
  pids: { server: number; postgres: number };
  binaries: ServerBinaries;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Kept across starts; default: a temp dir removed on stop. */
  dir?: string;
  shards?: number;
  /** For experiments (bench/): another dynamic config file than docker/'s. */
  dynamicConfigFile?: string;
  log?: (line: string) => void;
}

interface ClusterState {
  version: string;
  password: string;
  shards: number;
  schemaCreated: boolean;
}

export async function startTemporalCluster(opts: ClusterOptions = {}): Promise<TemporalCluster> {
  const log = opts.log ?? (() => undefined);
  const binaries = await ensureServerBinaries({ log });
  const temporary = !opts.dir;
  const dir = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cluster-'));
  fs.mkdirSync(dir, { recursive: true });
  const state = readState(dir, opts.shards);
  const ports = await choosePorts(freePortInRange);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`stop: ${(err as Error).message}`));
    if (temporary) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    log(`PostgreSQL on 127.0.0.1:${ports.postgres} (data in ${path.join(dir, 'postgres')})`);
    const pg = await startPostgres({
      dataDir: path.join(dir, 'postgres'),
      port: ports.postgres,
      password: state.password,
      logFile: path.join(dir, 'postgres.log'),
    });
    stops.push(pg.stop);
    await setUpSchemas(binaries.sqlTool, ports.postgres, state, dir, log);

    const configFile = path.join(dir, 'temporal.yaml');
    const config = renderServerConfig({
      ports,
      password: state.password,
      shards: state.shards,
      dynamicConfigFile: opts.dynamicConfigFile,
    });
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
    const address = `127.0.0.1:${ports.frontend}`;
    log(`Temporal server v${TEMPORAL_SERVER_VERSION} on ${address}, ${state.shards} history shards`);
    const server = startServer(binaries.server, configFile, path.join(dir, 'server.log'));
    stops.push(() => stopProcessGroup(server, 30_000));
    await waitForFrontend(address, server, path.join(dir, 'server.log'));
    await registerNamespace(address);
    const cli = await findTemporalCli({ log });
    await retry(() => registerSearchAttributes(cli, address, NAMESPACE), 'registering the search attributes');
    return {
      address,
      namespace: NAMESPACE,
      dir,
      shards: state.shards,
      pids: { server: server.pid!, postgres: pg.pid },
      binaries,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function readState(dir: string, shards: number | undefined): ClusterState {
  const file = path.join(dir, 'cluster.json');
  if (fs.existsSync(file)) {
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterState;
    if (shards !== undefined && shards !== state.shards)
      throw new Error(
        `${dir} holds a database created with ${state.shards} history shards; the count cannot change: ` +
          `start it with --shards ${state.shards}, or use a new --dir`,
      );
    return state;
  }
  const state: ClusterState = {
    version: TEMPORAL_SERVER_VERSION,
    password: randomBytes(18).toString('base64url'),
    shards: shards ?? DEFAULT_HISTORY_SHARDS,
    schemaCreated: false,
  };
  writeState(dir, state);
  return state;
}

function writeState(dir: string, state: ClusterState): void {
  fs.writeFileSync(path.join(dir, 'cluster.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Creates both databases once, then brings their schemas to this release's (a no-op when they are current). */
async function setUpSchemas(tool: string, port: number, state: ClusterState, dir: string, log: (l: string) => void) {
  const conn = ['--plugin', 'postgres12', '--endpoint', '127.0.0.1', '--port', String(port), '--user', 'temporal'];
  const sql = async (db: string, ...args: string[]) => {
    try {
      await run(tool, [...conn, '--database', db, ...args], { env: { ...process.env, SQL_PASSWORD: state.password } });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`temporal-sql-tool ${args[0]} on ${db} failed: ${e.stderr || e.stdout || e.message}`);
    }
  };
  const schemas = { temporal: 'postgresql/v12/temporal', temporal_visibility: 'postgresql/v12/visibility' };
  if (!state.schemaCreated) {
    log('creating the temporal and temporal_visibility databases');
    for (const db of Object.keys(schemas)) {
      await sql(db, 'create-database');
      await sql(db, 'setup-schema', '-v', '0.0');
    }
    state.schemaCreated = true;
    writeState(dir, state);
  }
  for (const [db, name] of Object.entries(schemas)) await sql(db, 'update-schema', '--schema-name', name);
}

function startServer(binary: string, configFile: string, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(binary, ['--config-file', configFile, '--allow-no-auth', 'start'], {
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  return child;
}

/** A port in PORT_RANGE that nothing listens on right now (random tries: bind, close). */
async function freePortInRange(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min + 1));
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${PORT_RANGE.min} and ${PORT_RANGE.max}`);
}

async function waitForFrontend(address: string, server: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null)
      throw new Error(`the Temporal server exited (${server.exitCode ?? server.signalCode}):\n${tail(logFile)}`);
    if (await serverAnswers(address, 1_000)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal server did not answer at ${address} within 120 s:\n${tail(logFile)}`);
}

/** The end of a log, for errors: a temp dir is gone by the time anyone reads them. */
function tail(logFile: string, lines = 20): string {
  try {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${logFile})`;
  }
}

/** What compose's auto-setup does for it: the `default` namespace, one day of retention. */
async function registerNamespace(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await retry(async () => {
      try {
        await connection.workflowService.registerNamespace({
          namespace: NAMESPACE,
          workflowExecutionRetentionPeriod: msToTs('1 day'),
        });
      } catch (err) {
        if ((err as { code?: number }).code !== 6) throw err; // ALREADY_EXISTS: a kept data dir
      }
    }, 'registering the namespace');
  } finally {
    await connection.close();
  }
}

/** Right after start, the frontend may not know its peers or a just-created namespace yet. */
async function retry(fn: () => Promise<void>, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 30) throw new Error(`${what} failed 30 times: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
