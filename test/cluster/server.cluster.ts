/**
 * Run by `npm run test:cluster` only (scripts/cluster/test.ts): the server the suites run against is the production
 * one — Temporal on PostgreSQL with several history shards — set up as longrun needs it, and the dynamic config it
 * shares with docker/ is one this server release knows key for key.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { DYNAMIC_CONFIG_FILE, NAMESPACE, TEMPORAL_SERVER_VERSION } from '../../scripts/cluster/config';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';

const run = promisify(execFile);

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this file through \`npm run test:cluster\``);
  return value;
}

describe('the production Temporal of npm run cluster', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: env('LONGRUN_TEST_TEMPORAL_ADDRESS') });
  });
  afterAll(async () => connection?.close());

  it('is the pinned release on PostgreSQL, with more than one history shard', async () => {
    const info = await connection.workflowService.getClusterInfo({});
    expect(info.serverVersion).toBe(TEMPORAL_SERVER_VERSION);
    expect(info.persistenceStore).toMatch(/postgres/);
    expect(info.visibilityStore).toMatch(/postgres/);
    expect(info.historyShardCount).toBe(Number(env('LONGRUN_TEST_CLUSTER_SHARDS')));
    expect(info.historyShardCount).toBeGreaterThan(1);
  });

  it('has the namespace and every search attribute the workflows set, with their types', async () => {
    const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(namespaceInfo?.name).toBe(NAMESPACE);
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    const TYPE_NAMES: Record<number, string> = { 2: 'Keyword', 3: 'Int', 4: 'Double' }; // IndexedValueType
    const registered = Object.fromEntries(
      Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, TYPE_NAMES[Number(customAttributes?.[name])]]),
    );
    expect(registered).toEqual(SEARCH_ATTRIBUTES);
  });

  it('reads the dynamic config docker/ mounts, and every key in it is one this server knows', async () => {
    const rendered = JSON.parse(fs.readFileSync(path.join(env('LONGRUN_TEST_CLUSTER_DIR'), 'temporal.yaml'), 'utf8'));
    expect(rendered.dynamicConfigClient.filepath).toBe(DYNAMIC_CONFIG_FILE);
    const server = env('LONGRUN_TEST_CLUSTER_SERVER');
    const { stdout, stderr } = await run(server, ['validate-dynamic-config', DYNAMIC_CONFIG_FILE]);
    expect(`${stdout}${stderr}`).not.toMatch(/unregistered|warning|error|invalid/i);

    // The check can fail: a misspelt key is reported.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-dynconfig-'));
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'system.enableActivityEagerExecutio:\n  - value: true\n    constraints: {}\n');
    try {
      const out = await run(server, ['validate-dynamic-config', bad]).then(
        (r) => `${r.stdout}${r.stderr}`,
        (err: { stdout: string; stderr: string }) => `${err.stdout}${err.stderr}`,
      );
      expect(out).toMatch(/unregistered key "system\.enableactivityeagerexecutio"/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
