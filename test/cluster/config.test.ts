/**
 * The local production Temporal (`npm run cluster`, scripts/cluster/) as data, without building or starting
 * anything: the server config it renders, the ports, the pinned build, and the one dynamic config it shares with
 * docker/. `npm run test:cluster` starts the real thing (test/cluster/server.cluster.ts and the suites it lists).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  binaryCacheDir,
  buildCommand,
  choosePorts,
  DYNAMIC_CONFIG_FILE,
  loadDynamicConfig,
  PORT_NAMES,
  renderServerConfig,
  TEMPORAL_SERVER_VERSION,
  type ClusterPorts,
} from '../../scripts/cluster/config';
import { CLUSTER_SUITES } from '../../scripts/cluster/test';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/dev/dev-server';
import { compose, DOCKER, mount, ROOT } from '../docker/files';

const ports = Object.fromEntries(PORT_NAMES.map((name, i) => [name, 20_000 + i])) as ClusterPorts;

type Rendered = {
  persistence: {
    numHistoryShards: number;
    datastores: Record<string, { sql: { pluginName: string; connectAddr: string; password: string } }>;
    defaultStore: string;
    visibilityStore: string;
  };
  services: Record<string, { rpc: { grpcPort: number; membershipPort: number; httpPort?: number } }>;
  clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
  dynamicConfigClient: { filepath: string };
};

describe('the cluster server config', () => {
  const config = renderServerConfig({ ports, password: 'pw' }) as Rendered;

  it('runs every service with more than one history shard, on PostgreSQL for both stores', () => {
    expect(config.persistence.numHistoryShards).toBeGreaterThan(1);
    expect(Object.keys(config.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    const { datastores, defaultStore, visibilityStore } = config.persistence;
    for (const store of [defaultStore, visibilityStore]) {
      expect(datastores[store].sql).toMatchObject({
        pluginName: 'postgres12',
        connectAddr: `127.0.0.1:${ports.postgres}`,
        password: 'pw',
      });
    }
    expect(renderServerConfig({ ports, password: 'pw', shards: 8 })).toMatchObject({
      persistence: { numHistoryShards: 8 },
    });
  });

  it('listens on the chosen ports only, and points the cluster metadata at its own frontend', () => {
    const used = Object.values(config.services).flatMap(({ rpc }) =>
      [rpc.grpcPort, rpc.membershipPort, rpc.httpPort].filter((p) => p !== undefined),
    );
    expect(used.sort()).toEqual(
      PORT_NAMES.filter((n) => n !== 'postgres')
        .map((n) => ports[n])
        .sort(),
    );
    expect(config.services.frontend.rpc.grpcPort).toBe(ports.frontend);
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe(`127.0.0.1:${ports.frontend}`);
    // Nothing that listens on a fixed port (pprof, Prometheus) is configured.
    expect(JSON.stringify(config)).not.toMatch(/pprof|prometheus|listenAddress/);
  });

  it('reads the dynamic config file docker/compose.yaml mounts into its Temporal server: one source for both', () => {
    const temporal = compose().services.temporal;
    const mounted = temporal.volumes!.map(mount).find((m) => m.target.includes('dynamicconfig'));
    expect(path.resolve(DOCKER, mounted!.source)).toBe(DYNAMIC_CONFIG_FILE);
    expect(config.dynamicConfigClient.filepath).toBe(DYNAMIC_CONFIG_FILE);
  });
});

describe('the shared dynamic config', () => {
  it('is what the dev server starts with too, value for value', () => {
    const shared = loadDynamicConfig();
    expect(Object.keys(shared).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(shared))
      expect({ key, value }).toEqual({ key, value: DEV_SERVER_DYNAMIC_CONFIG[key] });
  });

  it('refuses a setting it cannot read as global, naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-dynconfig-'));
    const file = path.join(dir, 'dc.yaml');
    fs.writeFileSync(file, 'history.someKey:\n  - value: 3\n    constraints:\n      namespace: x\n');
    try {
      expect(() => loadDynamicConfig(file)).toThrow(/history\.someKey needs a list entry .* empty constraints/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cluster ports', () => {
  it('gives every port name its own port, asking again when the finder repeats itself', async () => {
    const offered = [7000, 7000, 7001, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009];
    const chosen = await choosePorts(async () => offered.shift()!);
    expect(Object.keys(chosen)).toEqual([...PORT_NAMES]);
    expect(new Set(Object.values(chosen)).size).toBe(PORT_NAMES.length);
  });

  it('gives up with a clear error when the finder never offers a new port', async () => {
    await expect(choosePorts(async () => 7000)).rejects.toThrow(/free port for frontendHttp/);
  });
});

describe('the server build', () => {
  it('is pinned: both binaries from the same server release', () => {
    const { args, env } = buildCommand();
    expect(args[0]).toBe('install');
    expect(args.slice(1)).toEqual([
      `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
      `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
    ]);
    expect(env.GOTOOLCHAIN).toMatch(/^go\d+\.\d+\.\d+$/);
  });

  it('is cached outside the checkout, per version', () => {
    expect(binaryCacheDir({ HOME: '/home/u' })).toBe(
      `/home/u/.cache/longrun/temporal-server/v${TEMPORAL_SERVER_VERSION}`,
    );
    expect(binaryCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/c' })).toBe(
      `/c/longrun/temporal-server/v${TEMPORAL_SERVER_VERSION}`,
    );
    expect(binaryCacheDir({ LONGRUN_CLUSTER_CACHE: '/opt/t' })).toBe('/opt/t');
  });
});

describe('npm scripts', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };

  it('start the cluster and its suites from scripts/cluster', () => {
    expect(pkg.scripts.cluster).toMatch(/scripts\/cluster\/main\.ts$/);
    expect(pkg.scripts['test:cluster']).toMatch(/scripts\/cluster\/test\.ts$/);
    for (const suite of CLUSTER_SUITES) expect(fs.existsSync(path.join(ROOT, suite))).toBe(true);
  });

  it('keep the checks that need the cluster out of `npm test`', () => {
    const jest = require(path.join(ROOT, 'jest.config.js')) as { testMatch: string[] };
    const onlyOnCluster = CLUSTER_SUITES.filter((s) => !s.endsWith('.test.ts'));
    expect(onlyOnCluster.length).toBeGreaterThan(0);
    // Every default pattern selects by the file's ending (*.test.ts); the cluster-only files end differently.
    const endings = jest.testMatch.map((glob) => /\*(\.[\w.]+)$/.exec(glob)?.[1]);
    expect(endings).not.toContain(undefined);
    for (const suite of onlyOnCluster) expect(endings.filter((e) => suite.endsWith(e!))).toEqual([]);
  });
});
