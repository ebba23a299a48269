/**
 * Bench (not a test): what a remote hub (LONGRUN_HUB_URL, docs/scaling.md "Remote hub") costs per workspace
 * operation, against the local hub, on the merge bench's repo of ~1,000 files. The remote is a real `git daemon` on
 * 127.0.0.1, so the figures are longrun's own cost of the mirror (a fetch per entry point, a push per ref write) with
 * no network latency: add your network's round trips to the remote column.
 *   - sequential: per task, one at a time, openWorkspace, an edit of one file, checkpointWorkspace with a transcript
 *     of 20 entries (saved to the hub too), integrateTask onto the target, closeWorkspace; local and remote
 *     interleaved task by task, so load from elsewhere on the machine hits both alike
 *   - two hosts: two LONGRUN_HOMEs on one remote, each integrating its tasks all at once (remote only: a local hub
 *     has one host); merges/s, compare-and-swap retries and lost merges
 * The git commands longrun runs per operation are counted by wrapping the git helper (as bench/open-profile.ts
 * does); each command's own children (index-pack, the daemon's upload-pack) are not counted.
 * Run: BENCH_REMOTE_N=20 npx ts-node --transpile-only bench/remote-hub.ts   (writes bench/results/remote-hub.json)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorkspaceActivities } from '../src/activities/workspace';
import { paths } from '../src/config';
import type { ChatMessage } from '../src/core/types';
import { ArtifactStore } from '../src/store/artifacts';
import * as spawner from '../src/workspace/spawner';
import { startGitDaemon } from '../test/helpers/git-daemon';
import { benchConfig, FILES, makeBenchRepo } from './merges';
import { commandFor, machineInfo, progress, round, stats, runAsScript, writeReport, type Stats } from './lib/report';

const N = Number(process.env.BENCH_REMOTE_N ?? 20);
const CONCURRENT = Number(process.env.BENCH_REMOTE_CONCURRENT ?? 20);
const TRANSCRIPT_ENTRIES = 20;
const OPERATIONS = ['open', 'checkpoint', 'integrate', 'close'] as const;
type Operation = (typeof OPERATIONS)[number];

// Every git command run through the helper is charged to the operation in whose async context it started.
const counting = new AsyncLocalStorage<string[]>();
const viaHelper = spawner.spawnViaHelper;
(spawner as { spawnViaHelper: typeof viaHelper }).spawnViaHelper = (req) => {
  counting.getStore()?.push(req.args.find((a, i) => !a.startsWith('-') && req.args[i - 1] !== '-c') ?? '?');
  return viaHelper(req);
};
const countsGit = process.env.LONGRUN_GIT_HELPER !== '0';

function host(home: string, hubUrl?: string) {
  const store = new ArtifactStore(paths.artifacts(home));
  const acts = createWorkspaceActivities({ config: { ...benchConfig(home), ...(hubUrl ? { hubUrl } : {}) }, store });
  return { home, store, acts };
}
type Host = ReturnType<typeof host>;

/** A transcript of a short agent turn loop: ~1 KB per entry, as a model's reply or a tool's output is. */
const transcript: ChatMessage[] = Array.from({ length: TRANSCRIPT_ENTRIES }, (_, i) =>
  i % 2
    ? { role: 'tool', toolCallId: `call${i}`, name: 'run', content: `output line of step ${i}\n`.repeat(40) }
    : { role: 'assistant', content: `Step ${i}: I will edit the file and run the tests. `.repeat(20) },
);

function edit(checkout: string, n: number, tag: string): void {
  fs.appendFileSync(path.join(checkout, 'src', `dir${n % 50}`, `file${n}.ts`), `export const ${tag} = ${n};\n`);
}

interface Mode {
  name: 'local' | 'remote';
  host: Host;
  runId: string;
  ms: Record<Operation, number[]>;
  git: Record<Operation, string[][]>;
}

async function timed<T>(mode: Mode, op: Operation, work: () => Promise<T>): Promise<T> {
  const commands: string[] = [];
  const t0 = performance.now();
  const result = await counting.run(commands, work);
  mode.ms[op].push(performance.now() - t0);
  mode.git[op].push(commands);
  return result;
}

/** One task's life on one hub, each workspace operation timed. */
async function oneTask(mode: Mode, i: number): Promise<void> {
  const { acts, store } = mode.host;
  const { runId } = mode;
  const taskId = `${runId}/planner/t${i}`;
  const ws = await timed(mode, 'open', () => acts.openWorkspace({ runId, taskId }));
  edit(ws.path, (i * 7) % FILES, `seq${i}`);
  const id = `${runId}/c1/planner/t${i}`;
  await store.append(id, 0, transcript);
  await timed(mode, 'checkpoint', () =>
    acts.checkpointWorkspace({ runId, taskId, message: 'checkpoint', transcript: { id, length: transcript.length } }),
  );
  const r = await timed(mode, 'integrate', () => acts.integrateTask({ runId, taskId, title: `edit ${i}` }));
  if (r.status !== 'merged') throw new Error(`${mode.name} t${i}: integrateTask returned ${r.status}`);
  await timed(mode, 'close', () => acts.closeWorkspace({ runId, taskId }));
}

/** Per operation: the git commands longrun ran (mean per operation) and the most frequent ones. */
function gitSummary(runs: string[][]) {
  if (!countsGit || !runs.length) return null;
  const byCommand: Record<string, number> = {};
  for (const run of runs) for (const cmd of run) byCommand[cmd] = (byCommand[cmd] ?? 0) + 1;
  for (const cmd of Object.keys(byCommand)) byCommand[cmd] = round(byCommand[cmd] / runs.length, 2);
  return { perOperation: round(runs.reduce((n, r) => n + r.length, 0) / runs.length, 1), byCommand };
}

export interface ModeFigures {
  ms: Record<Operation, Stats>;
  /** null when git does not run through the helper (LONGRUN_GIT_HELPER=0). */
  git: Record<Operation, { perOperation: number; byCommand: Record<string, number> } | null>;
}

/** Both hosts integrate CONCURRENT tasks each at once on one remote. */
async function twoHosts(root: string, url: string, repo: string) {
  const runId = 'bench-remote-2h';
  const hosts = [host(path.join(root, 'host-a'), url), host(path.join(root, 'host-b'), url)];
  await hosts[0].acts.prepareHub({ runId, repo });
  const tasks = hosts.flatMap((h, hi) => Array.from({ length: CONCURRENT }, (_, i) => ({ h, hi, i })));
  const ids = tasks.map(({ hi, i }) => `${runId}/planner/h${hi}t${i}`);
  for (const [k, { h, hi, i }] of tasks.entries()) {
    const ws = await h.acts.openWorkspace({ runId, taskId: ids[k] });
    edit(ws.path, (hi * CONCURRENT + i) * 3 + 1, `host${hi}t${i}`);
  }
  execFileSync('sync');
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let casRetries = 0;
  const started = performance.now();
  await Promise.all(
    tasks.map(async ({ h, i }, k) => {
      const t0 = performance.now();
      const r = await h.acts.integrateTask({ runId, taskId: ids[k], title: `edit ${i}` });
      latencies.push(performance.now() - t0);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 'merged') casRetries += r.casRetries;
    }),
  );
  const elapsedMs = performance.now() - started;
  // Lost = tasks whose trailer is not exactly once on the remote target's first-parent history.
  const tip = await hosts[1].acts.targetTip({ runId });
  const landed = execFileSync(
    'git',
    ['log', '--first-parent', '--format=%(trailers:key=Longrun-Task,valueonly)', tip],
    { cwd: paths.hub(hosts[1].home, runId), encoding: 'utf8' },
  )
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return {
    hosts: hosts.length,
    tasksPerHost: CONCURRENT,
    statuses,
    lost: ids.filter((id) => landed.filter((l) => l === id).length !== 1).length,
    elapsedMs: round(elapsedMs),
    mergesPerSecond: round((tasks.length / elapsedMs) * 1000),
    latencyMs: stats(latencies),
    casRetries,
    casRetriesPerMerge: round(casRetries / tasks.length, 2),
  };
}

export async function run() {
  const began = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-remote-'));
  const daemon = await startGitDaemon();
  try {
    const repo = makeBenchRepo(root);
    const mode = (name: Mode['name'], hubUrl?: string): Mode => ({
      name,
      host: host(path.join(root, name), hubUrl),
      runId: `bench-${name}`,
      ms: { open: [], checkpoint: [], integrate: [], close: [] },
      git: { open: [], checkpoint: [], integrate: [], close: [] },
    });
    const modes = [mode('local'), mode('remote', daemon.url())];
    for (const m of modes) await m.host.acts.prepareHub({ runId: m.runId, repo });
    execFileSync('sync');
    progress('remote-hub', `sequential: ${N} tasks on each hub`);
    for (let i = 0; i < N; i++) for (const m of modes) await oneTask(m, i);

    progress('remote-hub', `two hosts: ${CONCURRENT} integrations each at once`);
    const concurrent = await twoHosts(root, await daemon.addRepo('two-hosts.git'), repo);

    const figure = (m: Mode): ModeFigures => ({
      ms: Object.fromEntries(OPERATIONS.map((op) => [op, stats(m.ms[op])])) as ModeFigures['ms'],
      git: Object.fromEntries(OPERATIONS.map((op) => [op, gitSummary(m.git[op])])) as ModeFigures['git'],
    });
    const report = {
      bench: 'remote-hub',
      date: new Date().toISOString(),
      command: commandFor('remote-hub', { BENCH_REMOTE_N: String(N), BENCH_REMOTE_CONCURRENT: String(CONCURRENT) }),
      machine: machineInfo(),
      durationS: round((Date.now() - began) / 1000),
      parameters: {
        repoFiles: FILES,
        tasksSequential: N,
        tasksPerHostConcurrent: CONCURRENT,
        transcriptEntries: TRANSCRIPT_ENTRIES,
        remote: 'git daemon on 127.0.0.1 (git://), no network latency',
        gitCommandsCounted: countsGit,
      },
      figures: { local: figure(modes[0]), remote: figure(modes[1]), twoHosts: concurrent },
      targets: [
        {
          name: `lost merges, two hosts integrating ${CONCURRENT} tasks each at once`,
          target: '0',
          value: concurrent.lost,
          met: concurrent.lost === 0,
        },
      ],
      notes: [
        'sequential: one task at a time, open → edit one file → checkpoint with a 20-entry transcript → integrate → close',
        'git commands: those longrun runs per operation (fetch, push, rev-parse, …), not their own child processes',
      ],
    };
    console.log(JSON.stringify(report.figures, null, 2));
    writeReport(report);
    return report;
  } finally {
    await daemon.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(run);
