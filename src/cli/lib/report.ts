/**
 * A run's report: one shape for `report --json`, `report`, and the summary that ends `watch`. Built from the
 * RunResult when the run has finished, otherwise from the `status` query plus the cycles carried in the current
 * execution's input (each cycle is a fresh execution after continue-as-new) and the memo.
 */
import { describeDisk, type DiskUse } from '../../core/disk';
import { describeIncident } from '../../core/incidents';
import type { RefIncident, Role, RoleModels, UsageByRole } from '../../core/types';
import { totalOf } from '../../core/usage';
import { isLocalRepo } from '../../workspace/names';
import type { CycleRecord, RunCarry, RunInput } from '../../workflows/definitions';
import { elapsed, money, statusWord, table, tokens, truncate, type Style } from './format';
import type { RunSnapshot } from './snapshot';

export interface CycleReport {
  cycle: number;
  tasks: { merged: number; failed: number; abandoned: number };
  verdict: { decision: 'continue' | 'done' | 'stop'; reasons: string[] } | null;
  refusedDone: boolean;
  receipt: {
    command: string;
    commit: string;
    passed: boolean;
    exitCode: number | null;
    timedOut: boolean;
    durationMs: number;
  } | null;
  plannerError: string | null;
  costUsd: number;
  durationMs: number;
  unmerged: Array<{ taskId: string; title: string; status: string; summary: string }>;
  /** Planned tasks never started, with the reason (empty for cycles recorded by v0.1.0). */
  notAttempted: Array<{ title: string; reason: string; plannedBy: string }>;
  /** The run's disk use after this cycle's tidy step (null for cycles before v0.2.0 or when it failed). */
  disk: DiskUse | null;
  /** Checks of the target while the cycle worked, oldest first (empty before continuous verification). */
  checks: Array<{ commit: string; passed: boolean; exitCode: number | null; timedOut: boolean; durationMs: number }>;
}

export interface RunReport {
  runId: string;
  /** done | stopped | budget_exhausted | max_cycles | failed | running */
  status: string;
  finished: boolean;
  reason: string | null;
  goal: string | null;
  repo: string | null;
  resultBranch: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  cycles: number;
  tasks: { merged: number; failed: number; abandoned: number; running: number; notAttempted: number };
  commits: number;
  costUsd: number;
  tokens: { input: number; output: number; cacheRead: number; cacheWrite: number };
  usageByRole: UsageByRole;
  history: CycleReport[];
  unmerged: Array<{ cycle: number; taskId: string; title: string; status: string; summary: string }>;
  notAttempted: Array<{ cycle: number; title: string; reason: string; plannedBy: string }>;
  /** Shared refs (the target, the published branch) found moved behind longrun's back and restored. */
  incidents: RefIncident[];
  /** The run's disk use (hub, worktrees, caches, transcripts) as the latest cycle's tidy step measured it. */
  disk: DiskUse | null;
  models: RoleModels | null;
  failure: string | null;
  uiUrl: string;
}

export function buildReport(
  snap: RunSnapshot,
  start: { input: RunInput | null; carry: RunCarry | null },
  uiUrl: string,
  now = Date.now(),
): RunReport {
  const carry = start.carry;
  const r = snap.result;
  const v = snap.view;
  const records: CycleRecord[] = r ? r.history : (carry?.cycles ?? []);
  const usage: UsageByRole = r?.usage ?? v?.usage ?? carry?.usage ?? {};
  const total = totalOf(usage);
  const startedMs = carry?.run.startedAt ?? snap.executionStart.getTime();
  const endedMs = snap.closeTime?.getTime() ?? null;
  const sum = (k: 'merged' | 'failed' | 'abandoned') => records.reduce((n, c) => n + c.tasks[k], 0);
  const history = records.map(cycleReport);
  const notAttempted = history.flatMap((c) => c.notAttempted.map((n) => ({ cycle: c.cycle, ...n })));
  return {
    runId: snap.runId,
    status: r?.status ?? (snap.failure ? 'failed' : (v?.status ?? 'running')),
    finished: !!(r || snap.failure),
    reason: r?.reason ?? snap.failure ?? null,
    goal: carry?.run.goal ?? start.input?.goal ?? null,
    repo: carry?.run.repo ?? start.input?.repo ?? null,
    resultBranch: r?.resultBranch ?? v?.resultBranch ?? `longrun/${snap.runId}`,
    startedAt: new Date(startedMs).toISOString(),
    endedAt: endedMs ? new Date(endedMs).toISOString() : null,
    durationMs: (endedMs ?? now) - startedMs,
    cycles: r?.cycles ?? (v ? v.cycle : records.length),
    tasks: {
      ...(r
        ? { ...r.tasks, running: 0 }
        : v
          ? { merged: v.tasks.merged, failed: v.tasks.failed, abandoned: v.tasks.abandoned, running: v.tasks.running }
          : { merged: sum('merged'), failed: sum('failed'), abandoned: sum('abandoned'), running: 0 }),
      notAttempted: notAttempted.length,
    },
    commits: r?.commits ?? v?.commits ?? carry?.commits ?? 0,
    costUsd: r?.costUsd ?? v?.costUsd ?? total.costUsd,
    tokens: {
      input: total.inputTokens,
      output: total.outputTokens,
      cacheRead: total.cacheReadTokens,
      cacheWrite: total.cacheWriteTokens,
    },
    usageByRole: usage,
    history,
    unmerged: history.flatMap((c) => c.unmerged.map((u) => ({ cycle: c.cycle, ...u }))),
    notAttempted,
    incidents: (r ? records.at(-1)?.incidents : (v?.incidents ?? records.at(-1)?.incidents)) ?? [],
    disk: (r ? null : v?.disk) ?? [...history].reverse().find((c) => c.disk)?.disk ?? null,
    models: (snap.memo.models as RoleModels | undefined) ?? carry?.run.models ?? null,
    failure: snap.failure,
    uiUrl,
  };
}

function cycleReport(c: CycleRecord): CycleReport {
  return {
    cycle: c.cycle,
    tasks: c.tasks,
    verdict: c.verdict ? { decision: c.verdict.decision, reasons: c.verdict.reasons } : null,
    refusedDone: c.refusedDone,
    receipt: c.receipt
      ? {
          command: c.receipt.command,
          commit: c.receipt.commit,
          passed: c.receipt.passed,
          exitCode: c.receipt.exitCode,
          timedOut: c.receipt.timedOut,
          durationMs: c.receipt.durationMs,
        }
      : null,
    plannerError: c.plannerError,
    costUsd: c.usage.costUsd,
    durationMs: c.durationMs,
    unmerged: c.unmerged.map((u) => ({ taskId: u.taskId, title: u.title, status: u.status, summary: u.summary })),
    notAttempted: (c.notAttempted ?? []).map((n) => ({ title: n.title, reason: n.reason, plannedBy: n.plannedBy })),
    disk: c.disk ?? null,
    checks: (c.checks ?? []).map(({ commit, passed, exitCode, timedOut, durationMs }) => ({
      commit,
      passed,
      exitCode,
      timedOut,
      durationMs,
    })),
  };
}

/** The few lines that end `watch` and `run`: outcome, tasks, cost, tests, where the result is. */
export function summaryLines(rep: RunReport, style: Style, extra: string[][] = []): string[] {
  const head = rep.finished
    ? `after ${rep.cycles} cycle(s) in ${elapsed(rep.durationMs ?? 0)}${rep.reason ? `: ${truncate(rep.reason, 160)}` : ''}`
    : `in cycle ${rep.cycles}, ${elapsed(rep.durationMs ?? 0)} so far`;
  const lines = [`${style.bold(rep.runId)}  ${statusWord(rep.status, style)}  ${head}`];
  const kv: string[][] = [
    ...extra,
    [
      '  tasks',
      `${style.green(String(rep.tasks.merged))} merged · ${rep.tasks.failed} failed · ${rep.tasks.abandoned} abandoned` +
        (rep.tasks.notAttempted ? ` · ${style.red(String(rep.tasks.notAttempted))} not attempted` : '') +
        (rep.tasks.running ? ` · ${rep.tasks.running} running` : '') +
        `   commits ${rep.commits}`,
    ],
    [
      '  cost',
      `${money(rep.costUsd)}   tokens ${tokens(rep.tokens.input + rep.tokens.cacheRead + rep.tokens.cacheWrite)} in / ${tokens(rep.tokens.output)} out`,
    ],
  ];
  const receipt = [...rep.history].reverse().find((c) => c.receipt)?.receipt;
  if (receipt) {
    kv.push([
      '  tests',
      `${receipt.passed ? style.green('passed') : style.red('failed')}  ${receipt.command} @ ${receipt.commit.slice(0, 7)} (${elapsed(receipt.durationMs)})`,
    ]);
  }
  const checks = rep.history.flatMap((c) => c.checks);
  if (checks.length) {
    const red = checks.filter((c) => !c.passed).length;
    kv.push([
      '  checks',
      `${checks.length} while working, ${red ? style.red(`${red} red`) : style.green('all green')}`,
    ]);
  }
  if (rep.incidents.length) {
    kv.push([
      '  incidents',
      `${style.red(String(rep.incidents.length))} shared ref(s) moved behind longrun's back, restored; see \`longrun report ${rep.runId}\``,
    ]);
  }
  if (rep.disk) kv.push(['  disk', describeDisk(rep.disk)]);
  if (rep.unmerged.length)
    kv.push(['  unmerged', `${rep.unmerged.length} task(s); see \`longrun report ${rep.runId}\``]);
  if (rep.commits > 0 || rep.status !== 'failed') {
    const where =
      rep.repo && isLocalRepo(rep.repo)
        ? `   (git -C ${rep.repo} log --oneline ${rep.resultBranch})`
        : rep.repo
          ? ` of ${rep.repo}`
          : '';
    kv.push(['  branch', `${rep.resultBranch}${where}`]);
  }
  kv.push(['  web UI', rep.uiUrl]);
  return [...lines, ...table(kv)];
}

const ROLE_ORDER: Role[] = ['planner', 'subplanner', 'worker', 'judge', 'compactor'];

/** The full human report: the summary, usage per role, every cycle with its verdict and receipt, unmerged tasks. */
export function reportLines(rep: RunReport, style: Style): string[] {
  const out = summaryLines(rep, style, rep.goal ? [['  goal', truncate(rep.goal, 200)]] : []);
  const roles = ROLE_ORDER.filter((r) => rep.usageByRole[r]);
  if (roles.length) {
    out.push('', style.bold('Usage by role'));
    const rows = [['  role', 'model', 'calls', 'input', 'output', 'cost']];
    for (const role of roles) {
      const u = rep.usageByRole[role]!;
      const m = rep.models?.[role];
      rows.push([
        `  ${role}`,
        m ? `${m.provider}:${m.model}` : '',
        String(u.calls),
        tokens(u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens),
        tokens(u.outputTokens),
        money(u.costUsd),
      ]);
    }
    out.push(...table(rows, [2, 3, 4, 5]));
  }
  if (rep.history.length) {
    out.push('', style.bold('Cycles'));
    const rows = [['  cycle', 'merged', 'failed', 'abandoned', 'verdict', 'tests', 'cost', 'time']];
    for (const c of rep.history) {
      const tests = c.receipt ? (c.receipt.passed ? style.green('passed') : style.red('failed')) : '-';
      const verdict = c.verdict ? c.verdict.decision + (c.refusedDone ? ' (done refused)' : '') : '-';
      rows.push([
        `  ${c.cycle}`,
        String(c.tasks.merged),
        String(c.tasks.failed),
        String(c.tasks.abandoned),
        verdict,
        tests,
        money(c.costUsd),
        elapsed(c.durationMs),
      ]);
    }
    out.push(...table(rows, [1, 2, 3, 6, 7]));
    for (const c of rep.history) {
      if (c.verdict?.reasons.length)
        out.push(`  ${style.dim(`cycle ${c.cycle}:`)} ${truncate(c.verdict.reasons.join('; '), 200)}`);
      if (c.plannerError)
        out.push(`  ${style.dim(`cycle ${c.cycle}:`)} ${style.red('planner error')} ${truncate(c.plannerError, 200)}`);
    }
  }
  if (rep.unmerged.length) {
    out.push('', style.bold('Unmerged tasks'));
    const rows = rep.unmerged.map((u) => [
      `  ${u.taskId}`,
      statusWord(u.status, style),
      truncate(u.title, 50),
      truncate(u.summary, 120),
    ]);
    out.push(...table(rows));
  }
  if (rep.notAttempted.length) {
    out.push('', style.bold('Planned but not attempted'));
    const rows = rep.notAttempted.map((n) => [
      `  c${n.cycle} ${n.plannedBy}`,
      truncate(n.title, 50),
      truncate(n.reason, 120),
    ]);
    out.push(...table(rows));
  }
  if (rep.incidents.length) {
    out.push('', style.bold('Incidents (restored by longrun)'));
    for (const i of rep.incidents) out.push(`  ${new Date(i.at).toISOString()}  ${describeIncident(i)}`);
  }
  if (rep.failure) out.push('', `${style.red('failure')}: ${rep.failure}`);
  return out;
}
