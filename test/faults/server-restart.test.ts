import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { teamScenario } from '../../src/demo/team-scenario';
import { freePort, startDevServer, type DevServer } from '../../src/dev/dev-server';
import type { RunResult } from '../../src/workflows/definitions';
import { installRuntime } from '../../src/workers/runtime';
import { startHarness, type Harness } from '../helpers/harness';
import { temporalCli } from '../helpers/temporal';
import {
  duplicates,
  leftoverWorktrees,
  LONG,
  report,
  rmrf,
  runIdFor,
  sampleRepo,
  startRunWithCli,
  taskTrailers,
  teamInput,
} from './helpers/runs';
import { retryingTools } from './helpers/scenarios';

/**
 * Server restart: this test runs its own dev server on a SQLite file, stops it mid-run (SIGTERM to its process
 * group) and starts it again on the same file and port. The worker (in-process) and the client reconnect by
 * themselves; the run resumes from the persisted state and completes.
 */
const RESTARTS = LONG ? 3 : 1;
const DOWN_MS = LONG ? 8_000 : 3_000;
const RUN_TIMEOUT_MS = (LONG ? 15 : 6) * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Temporal dev server restart mid-run (SQLite file)', () => {
  let dir: string;
  let server: DevServer;
  let port: number;
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;

  const startServer = async () =>
    startDevServer({
      cli: temporalCli(),
      dbFile: path.join(dir, 'temporal.sqlite'),
      port,
      headless: true,
      logFile: path.join(dir, 'server.log'),
      startTimeoutMs: 120_000,
    });

  beforeAll(async () => {
    installRuntime({ LONGRUN_LOG_LEVEL: process.env.LONGRUN_LOG_LEVEL ?? 'WARN' }); // before the first connection
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-server-'));
    port = await freePort();
    server = await startServer();
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: 'default' });
    h = await startHarness(env, retryingTools(teamScenario({ workerExploreTurns: LONG ? 3 : 1 })));
    repo = sampleRepo();
  });

  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    await server?.stop();
    rmrf(dir, repo);
  });

  it(
    `resumes and completes after ${RESTARTS} restart(s) of the server`,
    async () => {
      const started = Date.now();
      const runId = runIdFor('restart');
      startRunWithCli(server.address, h.taskQueue, runId, teamInput(repo));

      const restarts: Array<{ atMs: number; requests: number }> = [];
      for (let i = 0; i < RESTARTS; i++) {
        // Mid-run: wait until workers are busy (the planner has planned and tasks talk to the model).
        const target = 8 + i * 10;
        const deadline = Date.now() + RUN_TIMEOUT_MS;
        while (h.sim.requests.length < target && Date.now() < deadline) await sleep(100);
        await server.stop();
        restarts.push({ atMs: Date.now() - started, requests: h.sim.requests.length });
        await sleep(DOWN_MS);
        server = await startServer();
      }

      const result = await resultThroughOutages(env, runId, RUN_TIMEOUT_MS);
      report('server-restart', {
        restarts,
        requests: h.sim.requests.length,
        durationMs: Date.now() - started,
        status: result.status,
      });

      expect(restarts.length).toBe(RESTARTS);
      // The restarts happened mid-run, not after it.
      expect(restarts.every((r) => r.requests < h.sim.requests.length)).toBe(true);
      expect(result.status).toBe('done');
      expect(result.history.flatMap((c) => c.unmerged)).toEqual([]);
      expect(result.tasks).toEqual({ merged: 7, failed: 0, abandoned: 0, notAttempted: 0 });
      expect(result.lastReceipt?.passed).toBe(true);
      const trailers = taskTrailers(repo, result.resultBranch);
      expect(duplicates(trailers)).toEqual([]);
      expect(new Set(trailers).size).toBe(7);
      expect(leftoverWorktrees(h.home, runId)).toEqual({ dirs: [], registered: [] });
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});

/** `result()` long-polls the server; a poll cut by the restart is simply asked again. */
async function resultThroughOutages(
  env: TestWorkflowEnvironment,
  runId: string,
  timeoutMs: number,
): Promise<RunResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await env.client.workflow.getHandle(runId).result()) as RunResult;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'WorkflowFailedError' || Date.now() > deadline) throw err;
      await sleep(1_000);
    }
  }
}
