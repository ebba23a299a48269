/**
 * The first user message of each role, built from run data. The system prompts are the Markdown files in
 * prompts/ (stable, so providers can cache them); everything that varies goes here. Pure: unit-tested.
 */
import { describeIncident } from '../core/incidents';
import type { Limits } from '../core/schemas';
import type { Handoff, NotAttempted, Receipt, ScopeSpec, TaskSpec, Usage } from '../core/types';

export interface Briefing {
  goal: string;
  cycle: number;
  scratchpad: string;
  nextFocus: string;
  guidance: string[];
  /** AGENTS.md / CLAUDE.md of the target repository, if present. */
  repoInstructions: string | null;
  testCommand: string | null;
}

const section = (title: string, body: string | null | undefined) =>
  body && body.trim() ? `## ${title}\n${body.trim()}\n` : '';
const bullets = (items: string[]) => items.map((i) => `- ${i}`).join('\n');

function common(b: Briefing): string {
  return [
    section('Goal of the run', b.goal),
    section('Operator guidance', b.guidance.length ? bullets(b.guidance) : null),
    section('Repository instructions (AGENTS.md / CLAUDE.md)', b.repoInstructions),
    section(
      'Test command',
      b.testCommand
        ? `\`${b.testCommand}\` (run on a clean checkout of the team branch at the end of the cycle)`
        : null,
    ),
  ].join('\n');
}

export function workerBriefing(b: Briefing, task: TaskSpec): string {
  return [
    `# Your task: ${task.title}\n`,
    task.description.trim(),
    '',
    section('Acceptance criteria', bullets(task.acceptance)),
    section('Files to look at first (hints, not limits)', task.files.length ? bullets(task.files) : null),
    common(b),
    section("Notes from the previous cycle's judge", b.scratchpad),
    'Start by exploring the code relevant to the task. Call `finish` when you are done.',
  ].join('\n');
}

export function plannerBriefing(
  b: Briefing,
  opts: { scope: ScopeSpec | null; depth: number; maxTasks: number; canDelegate: boolean; fileList: string },
): string {
  return [
    opts.scope
      ? `# Your scope: ${opts.scope.scope}\n\n${opts.scope.description.trim()}\n`
      : `# Cycle ${b.cycle}: plan the work for the goal\n`,
    common(b),
    section('Scratchpad from the previous cycle (rewritten by the judge)', b.scratchpad),
    section('Focus for this cycle', b.nextFocus),
    section(
      'Limits',
      bullets([
        `You may create at most ${opts.maxTasks} tasks in this cycle. A plan with more is refused; tasks you ` +
          'leave out are recorded as not attempted.',
        opts.canDelegate
          ? 'You may hand areas to sub-planners.'
          : 'Sub-planners are not available at your depth: plan tasks directly.',
      ]),
    ),
    section('Files in the repository (first entries)', opts.fileList),
    'Explore what you need, then call `submit_plan`.',
  ].join('\n');
}

export interface CycleReport {
  goal: string;
  cycle: number;
  limits: Limits;
  scratchpad: string;
  handoffs: Handoff[];
  counts: { merged: number; failed: number; abandoned: number };
  /** Planned work never started, with why (absent: none). */
  notAttempted?: NotAttempted[];
  plannerError: string | null;
  receipt: Receipt | null;
  testCommand: string | null;
  diffStat: string;
  usage: Usage;
  stopRequested: boolean;
}

export function judgeBriefing(r: CycleReport): string {
  const handoffs = r.handoffs.map((h) => {
    const extra = [
      ...h.concerns.map((c) => `concern: ${c}`),
      ...h.deviations.map((d) => `deviation: ${d}`),
      ...(h.incidents ?? []).map((i) => `incident: ${describeIncident(i)}`),
    ];
    return `- **${h.status}** ${h.title} (${h.taskId}): ${h.summary}${extra.length ? `\n  ${extra.join('\n  ')}` : ''}`;
  });
  const receipt = r.receipt
    ? `\`${r.receipt.command}\` on ${r.receipt.commit.slice(0, 12)}: ${r.receipt.passed ? 'PASSED' : r.receipt.timedOut ? 'TIMED OUT' : `FAILED (exit ${r.receipt.exitCode})`} in ${Math.round(r.receipt.durationMs / 1000)} s\n\n\`\`\`\n${r.receipt.outputTail}\n\`\`\``
    : r.testCommand
      ? 'No receipt: verification did not run.'
      : 'The run has no test command: judge from the handoffs and the diff.';
  return [
    `# Cycle ${r.cycle} of at most ${r.limits.maxCycles}: your verdict\n`,
    section('Goal', r.goal),
    r.stopRequested
      ? '**The operator asked the run to stop.** Write the final summary; your decision will be recorded as stop.\n'
      : '',
    section('Scratchpad from the previous cycle', r.scratchpad),
    section(
      `Tasks this cycle: ${r.counts.merged} merged, ${r.counts.failed} failed, ${r.counts.abandoned} abandoned`,
      handoffs.join('\n') || '(none)',
    ),
    section(
      r.notAttempted?.length ? `Planned but not attempted: ${r.notAttempted.length} task(s)` : '',
      bullets((r.notAttempted ?? []).map((n) => `${n.title} (planned by ${n.plannedBy}): ${n.reason}`)),
    ),
    section('Planner error', r.plannerError),
    section('Verification receipt', receipt),
    section('Changes this cycle (diff --stat)', r.diffStat || '(no changes)'),
    section(
      'Spend so far',
      `${r.usage.calls} model calls, ${r.usage.inputTokens + r.usage.outputTokens} tokens, $${r.usage.costUsd.toFixed(4)}`,
    ),
    'Call `submit_verdict`.',
  ].join('\n');
}

export function compactorBriefing(conversation: string): string {
  return `Summarize this conversation of a coding agent so it can continue its work.\n\n<conversation>\n${conversation}\n</conversation>`;
}
