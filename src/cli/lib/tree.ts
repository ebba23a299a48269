/**
 * The live view of a run, pure: a snapshot → the lines of the tree (root, then planners and workers nested by
 * their hierarchical ids), and two snapshots → what changed, as events. `watch` and `demo` draw these.
 */
import type { Verdict, Receipt } from '../../core/types';
import { compareKeys, type AgentRow, type RunSnapshot } from './snapshot';
import { clock, elapsed, money, statusWord, table, truncate, type Style } from './format';

export function headerLine(snap: RunSnapshot, style: Style, now = Date.now()): string {
  const v = snap.view;
  const id = style.bold(snap.runId);
  if (snap.result)
    return `${id}  ${statusWord(snap.result.status, style)}  ${snap.result.cycles} cycle(s) · ${money(snap.result.costUsd)}`;
  if (snap.failure) return `${id}  ${statusWord('failed', style)}  ${truncate(snap.failure, 100)}`;
  if (!v)
    return `${id}  ${statusWord('running', style)}  ${style.dim(`(no answer yet: ${truncate(snap.viewError ?? 'waiting for a worker', 80)})`)}`;
  const flags = [v.paused ? style.yellow('paused') : '', v.stopRequested ? style.yellow('stopping') : ''].filter(
    Boolean,
  );
  const parts = [
    `cycle ${v.cycle}`,
    v.phase,
    `tasks ${v.tasks.running} running, ${style.green(String(v.tasks.merged))} merged, ${v.tasks.failed ? style.red(String(v.tasks.failed)) : '0'} failed` +
      (v.tasks.abandoned ? `, ${v.tasks.abandoned} abandoned` : ''),
    `${v.commits} commit(s)`,
    money(v.costUsd),
    // Runs started by the CLI carry their start in the memo; otherwise only this cycle's execution start is known.
    typeof snap.memo.startedAt === 'number'
      ? elapsed(now - snap.memo.startedAt)
      : `${elapsed(now - snap.executionStart.getTime())} this cycle`,
  ];
  return `${id}  ${statusWord(v.status, style)}${flags.length ? ' ' + flags.join(' ') : ''}  ${parts.join(' · ')}`;
}

/** The agents as an aligned tree: role, id, state, step, last tool, elapsed, cost, title. */
export function agentLines(rows: AgentRow[], style: Style, now = Date.now()): string[] {
  if (!rows.length) return [];
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const parentOf = (key: string): string | null => {
    const parts = key.split('/');
    for (let n = parts.length - 1; n > 0; n--) {
      const candidate = parts.slice(0, n).join('/');
      if (byKey.has(candidate)) return candidate;
    }
    return null;
  };
  const children = new Map<string | null, AgentRow[]>();
  for (const r of [...rows].sort((a, b) => compareKeys(a.key, b.key))) {
    const p = parentOf(r.key);
    children.set(p, [...(children.get(p) ?? []), r]);
  }
  const table_: string[][] = [];
  const walk = (parent: string | null, prefix: string) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((r, i) => {
      const last = i === kids.length - 1;
      const branch = `${prefix}${last ? '└─ ' : '├─ '}`;
      const roleColour = r.role === 'worker' ? style.cyan : style.magenta;
      table_.push([
        style.dim(branch) + roleColour(r.role),
        r.key,
        stateWord(r.state, style),
        r.answered ? `step ${r.step}` : '',
        truncate(r.lastTool ?? '', 40),
        r.startedAt ? elapsed(now - r.startedAt) : '',
        money(r.costUsd),
        truncate(r.title, 60),
      ]);
      walk(r.key, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(null, '');
  return table(table_, [5, 6]);
}

function stateWord(state: string, style: Style): string {
  if (/conflict/.test(state)) return style.yellow(state);
  if (state === 'merging') return style.green(state);
  if (state === 'paused' || state === 'starting') return style.dim(state);
  return state;
}

export function treeLines(snap: RunSnapshot, style: Style, now = Date.now()): string[] {
  return [headerLine(snap, style, now), ...agentLines(snap.agents, style, now)];
}

// ---------------------------------------------------------------------------
// Events: what changed between two snapshots.

export type RunEvent =
  | { kind: 'cycle'; cycle: number }
  | { kind: 'phase'; cycle: number; phase: string }
  | { kind: 'started'; row: AgentRow }
  | { kind: 'state'; row: AgentRow; from: string }
  | { kind: 'finished'; row: AgentRow }
  | { kind: 'verdict'; cycle: number; verdict: Verdict; receipt: Receipt | null }
  | { kind: 'flag'; text: string };

/** Remembers what was already said, so each verdict is reported once even if snapshots miss the moment. */
export interface EventMemory {
  verdicts: Set<number>;
  firstCycle: number | null;
}

export function newEventMemory(): EventMemory {
  return { verdicts: new Set(), firstCycle: null };
}

export function diffSnapshots(prev: RunSnapshot | null, next: RunSnapshot, memory: EventMemory): RunEvent[] {
  const events: RunEvent[] = [];
  const pv = prev?.view ?? null;
  const nv = next.view;
  if (nv) {
    if (memory.firstCycle === null) memory.firstCycle = nv.cycle;
    if (nv.cycle > 1 && nv.lastVerdict && !memory.verdicts.has(nv.cycle - 1) && pv) {
      memory.verdicts.add(nv.cycle - 1);
      events.push({ kind: 'verdict', cycle: nv.cycle - 1, verdict: nv.lastVerdict, receipt: nv.lastReceipt });
    }
    if (!pv || pv.cycle !== nv.cycle) events.push({ kind: 'cycle', cycle: nv.cycle });
    if (!pv || pv.phase !== nv.phase || pv.cycle !== nv.cycle)
      events.push({ kind: 'phase', cycle: nv.cycle, phase: nv.phase });
    if ((nv.phase === 'publishing' || nv.phase === 'tidying') && nv.lastVerdict && !memory.verdicts.has(nv.cycle)) {
      memory.verdicts.add(nv.cycle);
      events.push({ kind: 'verdict', cycle: nv.cycle, verdict: nv.lastVerdict, receipt: nv.lastReceipt });
    }
    if (pv && pv.paused !== nv.paused) events.push({ kind: 'flag', text: nv.paused ? 'paused' : 'resumed' });
    if (pv && !pv.stopRequested && nv.stopRequested)
      events.push({ kind: 'flag', text: 'stop requested: no new tasks; running agents hand off' });
  }
  // Agents are compared only between two answered looks: a missed query is not a finished agent, and when the
  // run closes the summary says the rest.
  if (nv) {
    const before = new Map((prev?.agents ?? []).map((a) => [a.id, a]));
    const after = new Map(next.agents.map((a) => [a.id, a]));
    for (const [id, a] of after) {
      const old = before.get(id);
      if (!old) events.push({ kind: 'started', row: a });
      else if (old.state !== a.state && a.answered && old.answered)
        events.push({ kind: 'state', row: a, from: old.state });
    }
    for (const [id, a] of before) if (!after.has(id)) events.push({ kind: 'finished', row: a });
  }
  if (next.result) {
    for (const c of next.result.history) {
      if (memory.verdicts.has(c.cycle) || !c.verdict || c.cycle < (memory.firstCycle ?? 1)) continue;
      memory.verdicts.add(c.cycle);
      events.push({ kind: 'verdict', cycle: c.cycle, verdict: c.verdict, receipt: c.receipt });
    }
  }
  return events;
}

/** What a finished child handed back (a task's Handoff or a sub-planner's PlannerResult), in a few words. */
export function outcomeWords(outcome: unknown): { word: string; detail: string } {
  const o = (outcome ?? {}) as Record<string, unknown>;
  if (typeof o.error === 'string') return { word: 'failed', detail: truncate(o.error, 100) };
  if (typeof o.status === 'string') {
    const commit = typeof o.commit === 'string' ? ` at ${o.commit.slice(0, 7)}` : '';
    return { word: o.status, detail: o.status === 'merged' ? commit.trim() : truncate(String(o.summary ?? ''), 100) };
  }
  if (typeof o.merged === 'number')
    return { word: 'finished', detail: `${o.merged} merged, ${o.failed} failed, ${o.abandoned} abandoned` };
  return { word: 'finished', detail: '' };
}

export function eventLine(e: RunEvent, style: Style, at = Date.now(), outcome?: unknown): string | null {
  const t = style.dim(clock(at));
  const who = (r: AgentRow) => `${r.role} ${r.key}`;
  switch (e.kind) {
    case 'cycle':
      return `${t} ${style.bold(`cycle ${e.cycle}`)} started`;
    case 'phase':
      return e.phase === 'planning' || e.phase === 'finished' ? null : `${t} cycle ${e.cycle}: ${e.phase}`;
    case 'started':
      return `${t} ${who(e.row)} started: ${truncate(e.row.title, 80)}`;
    case 'state':
      return `${t} ${who(e.row)} ${e.row.state}`;
    case 'finished': {
      const { word, detail } = outcomeWords(outcome);
      return `${t} ${who(e.row)} ${statusWord(word, style)}${detail ? `: ${detail}` : ''}`;
    }
    case 'verdict': {
      const tests = e.receipt ? `; tests ${e.receipt.passed ? style.green('passed') : style.red('failed')}` : '';
      const why = e.verdict.reasons.length ? ` — ${truncate(e.verdict.reasons.join('; '), 100)}` : '';
      return `${t} cycle ${e.cycle} verdict: ${style.bold(e.verdict.decision)}${tests}${why}`;
    }
    case 'flag':
      return `${t} ${style.yellow(e.text)}`;
  }
}
