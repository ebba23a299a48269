/**
 * Bench: keeping the target green while a stochastic team merges (bench/lib/green-team.ts), with issue #15's
 * controls off (the tests run only at the end of a cycle, so no red alert, no known-red note, no fixer) and on
 * (longrun's defaults: a check every 4 merges or 10 minutes, one red alert per break, one fixer, the note in
 * test runs). Same seed, same team in both settings. Reported per setting:
 *
 *   red share        time the target tip is at a red commit ÷ the run's time (run start → result)
 *   break → green    from a break's first red commit to the first green commit after it, per break
 *   pile-on          per break, agents that wrote the broken file though they neither broke it nor own its fix
 *   false done       the judge (which always says done) accepted while the target was red at the receipt's commit
 *
 * Red or green is `node check.js` at each commit of the target's first-parent history in the run's hub (the test
 * is a function of the files, so this is what a receipt at every commit would say); times are commit times
 * (1 s resolution). The run's own checks are reported alongside.
 *
 * Run: npx ts-node --transpile-only bench/green-branch.ts
 *   BENCH_GREEN_AGENTS=64 (maxParallelAgents)  BENCH_GREEN_TASKS (default 2 × agents, capped at 100: one plan)
 *   BENCH_GREEN_P=0.05 (pBreak)  BENCH_GREEN_SEED=15  BENCH_GREEN_SETTINGS=off,on
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths } from '../src/config';
import type { Limits } from '../src/core/schemas';
import { startSimulator } from '../src/sim';
import type { RunResult } from '../src/workflows/definitions';
import { headRef, targetBranch } from '../src/workspace/names';
import { startCluster, startInProcessWorker, workerEnv } from './lib/cluster';
import {
  GREEN_REPO_FILES,
  greenTeam,
  newTeamLog,
  pileOnPerBreak,
  TEST_COMMAND,
  traitsOf,
  fileOf,
  type GreenTeamOptions,
  type TeamLog,
} from './lib/green-team';
import { latencyFor } from './lib/latency';
import {
  commandFor,
  machineInfo,
  progress,
  round,
  stats,
  writeReport,
  type BenchReport,
  runAsScript,
} from './lib/report';
import { runToEnd } from './lib/runs';
import { taskTitle } from './lib/team';
import { SCALING_WORKER_ENV } from './scaling';

const AGENTS = Number(process.env.BENCH_GREEN_AGENTS ?? 64);
const TASKS = Number(process.env.BENCH_GREEN_TASKS ?? Math.min(100, 2 * AGENTS));
const P_BREAK = Number(process.env.BENCH_GREEN_P ?? 0.05);
const SEED = Number(process.env.BENCH_GREEN_SEED ?? 15);
const SETTINGS = (process.env.BENCH_GREEN_SETTINGS ?? 'off,on,strict').split(',') as Setting[];
type Setting = 'off' | 'on' | 'strict';
const TEAM = { pLoop: 0.05, pSkipTests: 0.1, pPileOn: 0.5, readTurns: 4 };

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const gitEnv = {
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'b@x',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'b@x',
};

function greenRepo(): { repo: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-green-'));
  for (const [file, text] of Object.entries(GREEN_REPO_FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  execFileSync('git', ['add', '-A'], { cwd: dir });
  execFileSync('git', ['commit', '-q', '-m', 'green bench repo'], { cwd: dir, env: { ...process.env, ...gitEnv } });
  return { repo: dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Red intervals of the target's first-parent history: [time it went red, time it went green or null]. */
function redIntervals(hub: string, runId: string, base: string) {
  const lines = git(
    hub,
    'log',
    '--first-parent',
    '--reverse',
    '--format=%H %ct',
    `${base}..${headRef(targetBranch(runId))}`,
  )
    .split('\n')
    .filter(Boolean);
  const isRed = (c: string) => {
    try {
      execFileSync('git', ['grep', '-q', 'BROKEN', c, '--', 'work'], { cwd: hub, stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const out: Array<{ commit: string; from: number; to: number | null }> = [];
  const red = new Map<string, boolean>();
  for (const line of lines) {
    const [commit, ct] = line.split(' ');
    const r = isRed(commit);
    red.set(commit, r);
    const open = out.at(-1);
    if (r && (!open || open.to !== null)) out.push({ commit, from: Number(ct) * 1000, to: null });
    if (!r && open && open.to === null) open.to = Number(ct) * 1000;
  }
  return { intervals: out, isRed: (c: string) => red.get(c) ?? isRed(c), commits: lines.length };
}

function figures(
  o: GreenTeamOptions,
  log: TeamLog,
  result: RunResult,
  hub: string,
  runId: string,
  base: string,
  t0: number,
  t1: number,
) {
  const { intervals, isRed, commits } = redIntervals(hub, runId, base);
  const redMs = intervals.reduce((sum, i) => sum + ((i.to ?? t1) - Math.max(i.from, t0)), 0);
  const breaks = Array.from({ length: o.tasks }, (_, i) => i + 1)
    .filter((k) => traitsOf(o, k).breaks && log.writes.has(taskTitle({ cycle: 1, scope: 0, index: k })))
    .map((k) => ({ agent: taskTitle({ cycle: 1, scope: 0, index: k }), file: fileOf(k) }));
  const piles = pileOnPerBreak(log.writes, breaks);
  const pileAgents = new Set(piles.flatMap((p) => p.pileOn));
  const heldBack = new Map(
    log.decisions.filter((d) => d.decision.kind === 'held-back').map((d) => [d.agent, d.decision]),
  );
  const checks = result.history.flatMap((c) => c.checks ?? []);
  const falseDone = result.history.filter(
    (c) => c.verdict?.decision === 'done' && !c.refusedDone && c.receipt && isRed(c.receipt.commit),
  ).length;
  return {
    runStatus: result.status,
    cycles: result.cycles,
    tasks: result.tasks,
    notAttempted: [...new Set(result.history.flatMap((c) => (c.notAttempted ?? []).map((n) => n.reason)))],
    targetCommits: commits,
    runS: round((t1 - t0) / 1000, 1),
    redShare: round(redMs / (t1 - t0), 3),
    redIntervals: intervals.length,
    breakToGreenS: stats(intervals.map((i) => ((i.to ?? t1) - i.from) / 1000)),
    stillRedAtEnd: intervals.some((i) => i.to === null),
    breaksMerged: breaks.length,
    pileOnAgents: pileAgents.size,
    pileOnPerBreak: breaks.length ? round(piles.reduce((n, p) => n + p.pileOn.length, 0) / breaks.length, 2) : 0,
    pileOnByBreak: Object.fromEntries(piles.map((p) => [p.file, p.pileOn.length])),
    heldBackByNote: [...heldBack.values()].filter((d) => d.kind === 'held-back' && d.why === 'known-red').length,
    redAlerts: log.alerts,
    fixersPlanned: log.fixersPlanned,
    fixerAgents: [...log.writes].filter(([, w]) => w.fixer).map(([a]) => a),
    loopers: log.loops.size,
    finishedWithoutTests: log.skippedTests.size,
    judgeDoneRefused: result.history.filter((c) => c.refusedDone).length,
    falseDoneAccepted: falseDone,
    checks: {
      count: checks.length,
      red: checks.filter((c) => !c.passed).length,
      // Per cycle, in order: G green, R red (a first red check blames the merges since the run's base).
      pattern: result.history.map((c) => (c.checks ?? []).map((k) => (k.passed ? 'G' : 'R')).join('')).join(' | '),
    },
  };
}

/** What a reader must know to read the figures: the configuration when it is not the issue's, and the known gap. */
export function notesFor(agents: number, pBreak: number, load: number[]): string[] {
  const notes: string[] = [];
  if (agents !== 64 || pBreak !== 0.05)
    notes.unshift(
      `Measured at ${agents} agents and p = ${pBreak} (load average ${load.join(' / ')}), not the issue's 64 agents ` +
        'at p = 0.05: that figure is still to be taken, with `npx ts-node --transpile-only bench/green-branch.ts`.',
    );
  return notes;
}

export async function run(): Promise<BenchReport> {
  const began = Date.now();
  let setting: GreenTeamOptions;
  let log = newTeamLog();
  const latency = latencyFor('iid', 300, 1_000);
  const sim = await startSimulator({
    scenario: greenTeam(
      () => setting,
      () => log,
    ),
  });
  const cluster = await startCluster();
  const worker = await startInProcessWorker(workerEnv(cluster, sim, 'green', SCALING_WORKER_ENV));
  const rows: Array<{ setting: string } & ReturnType<typeof figures>> = [];
  try {
    for (const name of SETTINGS) {
      setting = {
        seed: SEED,
        tasks: TASKS,
        pBreak: P_BREAK,
        ...TEAM,
        plannerFixes: name !== 'off',
        workerLatency: latency,
      };
      log = newTeamLog();
      const { repo, remove } = greenRepo();
      const runId = `bench-green-${name}-${Date.now().toString(36)}`;
      const base = git(repo, 'rev-parse', 'HEAD');
      const limits: Partial<Limits> = {
        maxParallelAgents: AGENTS,
        maxDepth: 0,
        // A plan on a red alert re-submits the queued tasks (it replaces them), and each counts again.
        maxTasksPerPlanner: 500,
        maxCycles: 2,
        workerMaxSteps: 40,
        ...(name === 'off' ? { verifyEveryMerges: 0, verifyEveryMinutes: 0 } : {}),
      };
      progress('green-branch', `${name}: ${AGENTS} agents, ${TASKS} tasks, pBreak ${P_BREAK}, seed ${SEED}`);
      const t0 = Date.now();
      try {
        const result = await runToEnd(cluster.client, {
          taskQueue: worker.taskQueue,
          runId,
          repo,
          limits,
          testCommand: TEST_COMMAND,
          ...(name === 'strict' ? { mergePolicy: 'tests-pass' as const } : {}),
          timeoutMs: 20 * 60_000,
        });
        const t1 = Date.now();
        const row = {
          setting: name,
          ...figures(setting, log, result, paths.hub(worker.home, runId), runId, base, t0, t1),
        };
        progress('green-branch', JSON.stringify(row));
        rows.push(row);
      } finally {
        remove();
      }
    }
  } finally {
    await worker.stop();
    await sim.close();
    await cluster.stop();
  }
  const label = `N=${AGENTS}, p=${P_BREAK}`;
  const targetsOf = (row: (typeof rows)[number]) => [
    { name: `red share (${row.setting}, ${label})`, target: '<= 0.10', value: row.redShare, met: row.redShare <= 0.1 },
    {
      name: `pile-on per break (${row.setting}, ${label})`,
      target: '<= 1',
      value: row.pileOnPerBreak,
      met: row.pileOnPerBreak <= 1,
    },
    {
      name: `false done accepted (${row.setting}, ${label})`,
      target: '0',
      value: row.falseDoneAccepted,
      met: row.falseDoneAccepted === 0,
    },
  ];
  const report: BenchReport = {
    bench: 'green-branch',
    date: new Date().toISOString(),
    command: commandFor('green-branch', {
      BENCH_GREEN_AGENTS: process.env.BENCH_GREEN_AGENTS,
      BENCH_GREEN_TASKS: process.env.BENCH_GREEN_TASKS,
      BENCH_GREEN_P: process.env.BENCH_GREEN_P,
      BENCH_GREEN_SEED: process.env.BENCH_GREEN_SEED,
      BENCH_GREEN_SETTINGS: process.env.BENCH_GREEN_SETTINGS,
    }),
    machine: machineInfo(cluster.cli),
    durationS: round((Date.now() - began) / 1000),
    parameters: {
      agents: AGENTS,
      tasks: TASKS,
      pBreak: P_BREAK,
      seed: SEED,
      ...TEAM,
      workerLatency: { p50Ms: 300, p90Ms: 1_000, distribution: 'lognormal, iid' },
      settings: {
        off: 'verifyEveryMerges 0, verifyEveryMinutes 0 (tests at cycle end only); the planner ignores red alerts',
        on: 'longrun defaults (a check every 4 merges or 10 min, red alert, one fixer, known-red notes)',
        strict: "the defaults and mergePolicy 'tests-pass' (a merge runs the tests on the merged result first)",
      },
      judge: 'always says done',
    },
    figures: { rows },
    targets: rows.filter((r) => r.setting !== 'off').flatMap(targetsOf),
    notes: notesFor(AGENTS, P_BREAK, machineInfo().loadAverage),
  };
  writeReport(report);
  return report;
}

if (require.main === module) runAsScript(run, (r) => ({ figures: r.figures, targets: r.targets }));
