/**
 * BENCH_SERVER=postgres: the benches run on production Temporal (`npm run cluster`: the pinned server on a private
 * PostgreSQL, several history shards, docker/'s dynamic config) instead of the dev server. BENCH_DYNAMIC_CONFIG
 * overrides apply on top of docker/'s file, in a copy; BENCH_CLUSTER_SHARDS sets the shard count.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporalCluster } from '../../scripts/cluster/cluster';
import { loadDynamicConfig } from '../../scripts/cluster/config';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import { envJson, type Cluster } from './cluster';

export async function startPostgresCluster(
  opts: { dynamicConfig?: Record<string, string | number | boolean> } = {},
): Promise<Cluster> {
  const cli = await findTemporalCli();
  const dynamicConfig = { ...loadDynamicConfig(), ...opts.dynamicConfig, ...envJson('BENCH_DYNAMIC_CONFIG') };
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-dynconfig-'));
  const dynamicConfigFile = path.join(configDir, 'dynamicconfig.yaml');
  // JSON is YAML: key → [{ value, constraints: {} }], the file format the server reads.
  fs.writeFileSync(
    dynamicConfigFile,
    JSON.stringify(
      Object.fromEntries(Object.entries(dynamicConfig).map(([k, value]) => [k, [{ value, constraints: {} }]])),
    ),
  );
  const shards = process.env.BENCH_CLUSTER_SHARDS ? Number(process.env.BENCH_CLUSTER_SHARDS) : undefined;
  const tc = await startTemporalCluster({ dynamicConfigFile, shards, log: (l) => console.error(`[cluster] ${l}`) });
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: tc.address });
  } catch (err) {
    await tc.stop();
    throw err;
  }
  return {
    address: tc.address,
    cli,
    client: new Client({ connection, namespace: tc.namespace }),
    dir: tc.dir,
    server: { address: tc.address, uiUrl: null, pid: tc.pids.server, stop: tc.stop },
    databasePid: tc.pids.postgres,
    settings: { dynamicConfig: { ...dynamicConfig, historyShards: tc.shards }, sqlitePragmas: {} },
    async stop() {
      await connection.close().catch(() => undefined);
      await tc.stop();
      fs.rmSync(configDir, { recursive: true, force: true });
    },
  };
}
