/**
 * npm run test:cluster: starts production Temporal on PostgreSQL (./cluster.ts), runs the suites below against it
 * through the jest global setup's LONGRUN_TEST_TEMPORAL_ADDRESS, and stops it. Not part of `npm test`: the first run
 * builds the server (minutes), every run starts PostgreSQL.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { startTemporalCluster } from './cluster';
import { ROOT } from './config';

/** The end-to-end run, the crash suite, the control tests, and the checks of the server itself. */
export const CLUSTER_SUITES = [
  'test/cluster/server.cluster.ts',
  'test/run/e2e.test.ts',
  'test/run/control.test.ts',
  'test/faults/crash.test.ts',
];

async function main(): Promise<number> {
  const log = (line: string) => console.error(`[test:cluster] ${line}`);
  const cluster = await startTemporalCluster({ log });
  const stop = () => void cluster.stop().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const config = {
      ...(require(path.join(ROOT, 'jest.config.js')) as Record<string, unknown>),
      rootDir: ROOT,
      testMatch: CLUSTER_SUITES.map((f) => `<rootDir>/${f}`),
      testPathIgnorePatterns: ['/node_modules/'], // the crash suite is one of the default suite's slow ones
    };
    const extra = process.argv.slice(2); // e.g. -t 'a test name'
    const jest = require.resolve('jest/bin/jest');
    const child = spawn(process.execPath, [jest, '--runInBand', '--config', JSON.stringify(config), ...extra], {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        LONGRUN_TEST_TEMPORAL_ADDRESS: cluster.address,
        LONGRUN_TEST_CLUSTER_DIR: cluster.dir,
        LONGRUN_TEST_CLUSTER_SHARDS: String(cluster.shards),
        LONGRUN_TEST_CLUSTER_SERVER: cluster.binaries.server,
      },
    });
    return await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    log('stopping the cluster');
    await cluster.stop();
  }
}

if (require.main === module)
  main().then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      console.error(`[test:cluster] ${err.message}`);
      process.exitCode = 1;
    },
  );
