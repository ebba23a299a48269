/**
 * docker/search-attributes.sh, the compose setup service's script, run with the real Temporal CLI against the test
 * dev server in a fresh namespace: it waits for the namespace, registers every attribute with its type, and a second
 * run (every `docker compose up`) succeeds too.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';
import { temporalCli } from '../helpers/temporal';
import { DOCKER } from './files';

const run = promisify(execFile);

const TYPES: Record<string, string> = {
  Keyword: 'INDEXED_VALUE_TYPE_KEYWORD',
  Int: 'INDEXED_VALUE_TYPE_INT',
  Double: 'INDEXED_VALUE_TYPE_DOUBLE',
};

describe('docker/search-attributes.sh', () => {
  const address = process.env.LONGRUN_TEST_TEMPORAL_ADDRESS!;
  const namespace = `sa-${process.pid}-${Date.now().toString(36)}`;
  let bin: string;

  beforeAll(async () => {
    // The admin-tools image has `temporal` on PATH; so does this PATH.
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-temporal-bin-'));
    fs.symlinkSync(temporalCli(), path.join(bin, 'temporal'));
    await run(temporalCli(), [
      'operator',
      'namespace',
      'create',
      '--address',
      address,
      '--namespace',
      namespace,
      '--retention',
      '24h',
    ]);
  });
  afterAll(async () => {
    fs.rmSync(bin, { recursive: true, force: true });
    await run(temporalCli(), [
      'operator',
      'namespace',
      'delete',
      '--address',
      address,
      '--namespace',
      namespace,
      '--yes',
    ]).catch(() => undefined);
  });

  const script = () =>
    run('sh', [path.join(DOCKER, 'search-attributes.sh')], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        LONGRUN_SETUP_WAIT_SECONDS: '60',
      },
      timeout: 90_000,
    });

  it('registers every longrun search attribute with its type, and is idempotent', async () => {
    const first = await script();
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) expect(first.stdout).toContain(`search attribute ${name}`);
    await script();
    const { stdout } = await run(temporalCli(), [
      'operator',
      'search-attribute',
      'list',
      '--address',
      address,
      '--namespace',
      namespace,
      '-o',
      'json',
    ]);
    const custom = (JSON.parse(stdout) as { customAttributes: Record<string, string> }).customAttributes;
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
      expect({ name, type: custom[name] }).toEqual({ name, type: TYPES[type] });
  });

  it('fails with a message when the namespace never becomes reachable', async () => {
    await expect(
      run('sh', [path.join(DOCKER, 'search-attributes.sh')], {
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          TEMPORAL_ADDRESS: address,
          TEMPORAL_NAMESPACE: `${namespace}-missing`,
          LONGRUN_SETUP_WAIT_SECONDS: '2',
        },
        timeout: 60_000,
      }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`namespace '${namespace}-missing'`) });
  });
});
