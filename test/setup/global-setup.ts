import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import { startDevServer } from '../../src/dev/dev-server';

/**
 * One Temporal dev server for the whole test run, with our own health polling (createLocal's 5 s start limit flakes on
 * cold machines). Tests reach it through LONGRUN_TEST_TEMPORAL_ADDRESS (test/helpers/temporal.ts). Set that variable
 * yourself to reuse a server you already run.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.LONGRUN_TEST_TEMPORAL_ADDRESS) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-test-server-'));
    const cli = await findTemporalCli({ log: (m) => console.log(`[global-setup] ${m}`) });
    const server = await startDevServer({
      cli,
      dbFile: path.join(dir, 'temporal.sqlite'),
      headless: true,
      logFile: path.join(dir, 'server.log'),
      startTimeoutMs: 120_000,
    });
    process.env.LONGRUN_TEST_TEMPORAL_ADDRESS = server.address;
    process.env.LONGRUN_TEST_TEMPORAL_CLI = cli;
    process.env.LONGRUN_TEST_SERVER_DIR = dir;
    (globalThis as Record<string, unknown>).__longrunDevServer = server;
  }
  process.env.LONGRUN_TEST_TEMPORAL_CLI ??= await findTemporalCli();
  // The workflow bundle is built once for the whole run; test workers load it with { workflowBundle: { codePath } }.
  if (!process.env.LONGRUN_TEST_WORKFLOW_BUNDLE) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: quietLogger,
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-test-bundle-')), 'workflows.js');
    fs.writeFileSync(file, code);
    process.env.LONGRUN_TEST_WORKFLOW_BUNDLE = file;
  }
}

const quietLogger = new DefaultLogger('WARN');
