import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { paths } from '../../src/config';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { startDevServer, type DevServer } from '../../src/dev/dev-server';
import type { SimRequest, SimResponse } from '../../src/sim';
import { ArtifactStore, TranscriptArchive } from '../../src/store/artifacts';
import type { RunResult } from '../../src/workflows/definitions';
import { taskBranch } from '../../src/workspace/names';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { temporalCli, testEnv } from '../helpers/temporal';

const TASK = 'Write the step notes';
const done = (decision = 'done'): SimResponse => ({
  toolCalls: [{ name: 'submit_verdict', arguments: { decision, reasons: ['ok'], nextFocus: '', scratchpad: '' } }],
});

/**
 * One long task: its worker takes `steps` model turns, writing notes/<n>.txt at its n-th request, then finishes.
 * `onWorker` sees each worker request (n counts them, faults included) and may answer it instead.
 */
function longTask(steps: number, onWorker: (n: number, req: SimRequest) => SimResponse | void) {
  let n = 0;
  return (req: SimRequest): SimResponse | null => {
    if (req.system.includes('You are the root planner')) {
      const spec = {
        title: TASK,
        description: 'Write the notes, one per step.',
        acceptance: ['notes exist'],
        files: [],
      };
      return {
        toolCalls: [{ name: 'submit_plan', arguments: { rationale: 'r', tasks: [spec], subplanners: [], done: true } }],
      };
    }
    if (req.system.includes('You compress')) return { text: `Summary ${n}: notes written so far.` };
    if (req.system.includes('You are the judge')) return done();
    if (!req.system.includes('You are a senior software engineer')) return null;
    n++;
    const instead = onWorker(n, req);
    if (instead) return instead;
    if (n > steps) {
      return {
        toolCalls: [
          {
            name: 'finish',
            arguments: {
              outcome: 'done',
              summary: 'notes written',
              notes: '',
              concerns: [],
              deviations: [],
              findings: [],
            },
          },
        ],
      };
    }
    return { toolCalls: [{ name: 'write_file', arguments: { path: `notes/${n}.txt`, content: `step ${n}\n` } }] };
  };
}

const start = (env: TestWorkflowEnvironment, h: Harness, runId: string, repo: string) =>
  env.client.workflow
    .start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [{ repo, goal: 'Write notes.', models: TEST_MODELS, limits: { maxParallelAgents: 1, maxCycles: 1 } }],
    })
    .then((handle) => handle.result() as Promise<RunResult>);

describe('a long task is checkpointed to the hub while it works', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;
  const runId = `ckpt-${Date.now().toString(36)}`;
  /** What the hub's task branch held when the worker's n-th request arrived. */
  const onBranch = new Map<number, string[]>();

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(
      env,
      longTask(14, (n) => {
        const hub = paths.hub(h.home, runId);
        const branch = taskBranch('c1/planner/t1');
        const files = execFileSync('git', ['-C', hub, 'ls-tree', '-r', '--name-only', branch], { encoding: 'utf8' });
        onBranch.set(
          n,
          files.split('\n').filter((f) => f.startsWith('notes/')),
        );
      }),
    );
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-ckpt-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('every 5 steps, so a worktree lost mid-task costs at most 5 steps', async () => {
    const result = await start(env, h, runId, repo);
    expect(result.tasks.merged).toBe(1);
    const notes = (upTo: number) => Array.from({ length: upTo }, (_, i) => `notes/${i + 1}.txt`).sort();
    // Request n arrives after n - 1 steps; the last checkpoint is the last multiple of 5 at or below n - 1.
    for (const n of [2, 6, 9, 11, 12, 15]) {
      const checkpointed = Math.floor((n - 1) / 5) * 5;
      expect([n, onBranch.get(n)!.sort()]).toEqual([n, notes(checkpointed)]);
      expect(n - 1 - checkpointed).toBeLessThan(5);
    }
  });
});

describe('compactions across continue-as-new (server suggests continue-as-new after 60 events)', () => {
  let server: DevServer;
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-compact-'));
  const COMPACT_AT = [3, 18];

  beforeAll(async () => {
    server = await startDevServer({
      cli: temporalCli(),
      dbFile: path.join(dir, 'temporal.sqlite'),
      headless: true,
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
      startTimeoutMs: 120_000,
    });
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
    // The provider says the context is too long at these requests: the worker compacts and asks again.
    h = await startHarness(
      env,
      longTask(24, (n) => (COMPACT_AT.includes(n) ? { fault: { kind: 'context-length' } } : undefined)),
    );
    repo = createSampleRepo(path.join(dir, 'repo'));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps distinct, intact transcripts for each compaction of a worker continued as new', async () => {
    const runId = `compact-${Date.now().toString(36)}`;
    const result = await start(env, h, runId, repo);
    expect(result.tasks.merged).toBe(1);
    const worker = `${runId}/c1/planner/t1`;
    let runs = 0;
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${worker}"` })) runs += wf ? 1 : 0;
    expect(runs).toBeGreaterThan(2); // the worker continued as new between its compactions

    // The tidy step after the cycle archives finished transcripts (.jsonl.gz): read an entry live or archived.
    const store = new ArtifactStore(paths.artifacts(h.home));
    const archive = new TranscriptArchive(store);
    const entry = async (id: string, index: number) =>
      store.readEntry(id, index).catch(async () => (await archive.read(id))[index]);
    const first = await entry(`${worker}#1`, 1);
    const second = await entry(`${worker}#2`, 1);
    // Each compaction wrote its own transcript: the task verbatim plus the summary made at that compaction.
    expect(first.content).toContain('# Your task: Write the step notes');
    expect(first.content).toContain(`Summary ${COMPACT_AT[0]}:`);
    expect(first.content).not.toContain(`Summary ${COMPACT_AT[1]}:`);
    expect(second.content).toContain('# Your task: Write the step notes');
    expect(second.content).toContain(`Summary ${COMPACT_AT[1]}:`);
    // The first compacted transcript went on growing after it was made and was never overwritten.
    expect((await entry(`${worker}#1`, 2)).role).toBe('assistant');
    expect(await entry(`${worker}#compactor1`, 0)).toBeTruthy();
    expect(await entry(`${worker}#compactor2`, 0)).toBeTruthy();
  });
});
