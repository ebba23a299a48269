/**
 * What the local production Temporal (`npm run cluster`) is made of, as data: the pinned server release, where its
 * binaries are cached, the ports, and the server's config file. Pure: nothing here builds or starts anything.
 *
 * The dynamic config is not ours to write: the server reads docker/temporal/dynamicconfig.yaml, the same file the
 * compose file mounts into its Temporal container, so the two deployments cannot drift apart.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');

/** The Temporal server release the cluster runs, and the Go toolchain that builds it. Change them together. */
export const TEMPORAL_SERVER_VERSION = '1.32.2';
export const GO_TOOLCHAIN = 'go1.27.3';

/** docker/compose.yaml mounts this file as the dynamic config of its Temporal server; the cluster reads it in place. */
export const DYNAMIC_CONFIG_FILE = path.join(ROOT, 'docker', 'temporal', 'dynamicconfig.yaml');

/** The namespace longrun uses by default (TEMPORAL_NAMESPACE), which compose's auto-setup also creates. */
export const NAMESPACE = 'default';

/**
 * Four shards, as Temporal's own development-postgres12.yaml: more than one, so the server takes the path a
 * production cluster takes (tasks and executions spread over shards), few enough for a 2-core machine. Fixed
 * for the life of a database: a kept data dir must be started with the count it was created with.
 */
export const DEFAULT_HISTORY_SHARDS = 4;

/** Every port the cluster listens on, all on 127.0.0.1. */
export const PORT_NAMES = [
  'frontend',
  'frontendHttp',
  'frontendMembership',
  'history',
  'historyMembership',
  'matching',
  'matchingMembership',
  'worker',
  'workerMembership',
  'postgres',
] as const;
export type ClusterPorts = Record<(typeof PORT_NAMES)[number], number>;

/**
 * Ports are taken from this range, not the kernel's ephemeral one (32768 and up on Linux): the server stores its
 * membership ports in a PostgreSQL smallint (cluster_membership.rpc_port), and refuses to start on 32768 or above.
 */
export const PORT_RANGE = { min: 10_000, max: 32_767 };

/** Assigns one distinct port per name from `pick` (a free-port finder), retrying a port it already handed out. */
export async function choosePorts(pick: () => Promise<number>): Promise<ClusterPorts> {
  const taken = new Set<number>();
  const ports = {} as ClusterPorts;
  for (const name of PORT_NAMES) {
    let port = await pick();
    for (let tries = 0; taken.has(port); tries++) {
      if (tries > 100)
        throw new Error(`could not find a free port for ${name}: the finder keeps returning taken ports`);
      port = await pick();
    }
    taken.add(port);
    ports[name] = port;
  }
  return ports;
}

/**
 * Where the built server and schema tool are kept, per version: LONGRUN_CLUSTER_CACHE, else
 * $XDG_CACHE_HOME/longrun/temporal-server/v<version>, else ~/.cache/…. Outside the checkout, shared by worktrees.
 */
export function binaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LONGRUN_CLUSTER_CACHE) return path.resolve(env.LONGRUN_CLUSTER_CACHE);
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'longrun', 'temporal-server', `v${TEMPORAL_SERVER_VERSION}`);
}

/** The `go install` that builds the server and the schema tool (`server` and `sql` land in $GOBIN). */
export function buildCommand(): { args: string[]; env: Record<string, string> } {
  const module = 'go.temporal.io/server';
  return {
    args: [
      'install',
      `${module}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
      `${module}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
    ],
    env: { GOTOOLCHAIN: GO_TOOLCHAIN, CGO_ENABLED: '0' },
  };
}

export interface ServerConfigOptions {
  ports: ClusterPorts;
  /** Password of the `temporal` database user (random per data dir). */
  password: string;
  shards?: number;
  dynamicConfigFile?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * The server's config file (modelled on Temporal's config/development-postgres12.yaml), as an object: written as
 * JSON, which the server's YAML reader takes as it is. No metrics or pprof listeners, no archival.
 */
export function renderServerConfig(opts: ServerConfigOptions): Record<string, unknown> {
  const { ports } = opts;
  const host = '127.0.0.1';
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${host}:${ports.postgres}`,
      connectProtocol: 'tcp',
      user: 'temporal',
      password: opts.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: opts.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: opts.shards ?? DEFAULT_HISTORY_SHARDS,
      datastores: {
        'postgres-default': datastore('temporal', 20),
        'postgres-visibility': datastore('temporal_visibility', 4),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: host } },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${host}:${ports.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: opts.dynamicConfigFile ?? DYNAMIC_CONFIG_FILE, pollInterval: '10s' },
  };
}

/**
 * The settings of a dynamic config file that apply everywhere (the entry without constraints), key → value.
 * Throws, naming the key, on an entry this loader cannot read, so a file that the server would read differently
 * from the tests fails loudly.
 */
export function loadDynamicConfig(file = DYNAMIC_CONFIG_FILE): Record<string, unknown> {
  const doc = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, entries] of Object.entries(doc)) {
    const list = entries as { value: unknown; constraints?: Record<string, unknown> }[];
    const global = Array.isArray(list) ? list.find((e) => Object.keys(e.constraints ?? {}).length === 0) : undefined;
    if (!global) throw new Error(`${file}: ${key} needs a list entry with a value and empty constraints`);
    out[key] = global.value;
  }
  return out;
}
