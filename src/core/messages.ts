/** Messages the workflows add to a planner's conversation. Pure formatting, unit-tested. */
import { describeIncident } from './incidents';
import type { Handoff } from './types';

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** What a planner keeps of a handoff for its result: enough for the report, small enough for history. */
export function compactHandoff(h: Handoff): Handoff {
  return {
    ...h,
    summary: cut(h.summary, 500),
    notes: cut(h.notes, 300),
    concerns: h.concerns.slice(0, 3).map((c) => cut(c, 200)),
    deviations: h.deviations.slice(0, 3).map((c) => cut(c, 200)),
    findings: h.findings.slice(0, 3).map((c) => cut(c, 200)),
    filesChanged: h.filesChanged.slice(0, 20),
    ...(h.incidents ? { incidents: h.incidents.slice(-5) } : {}),
  };
}

/** To a planner whose full plan has all started while its scope is open and slots are free (`plan-on-room`). */
export function roomMessage(running: number, freeSlots: number): string {
  return (
    `Your plan was full and every task in it has started (${running} agent(s) running); ${freeSlots} worker ` +
    'slot(s) are free. Your scope is not done: submit the next tasks now, or a plan with done: true if nothing is ' +
    'left to plan.'
  );
}

export function handoffsMessage(handoffs: Handoff[], stillRunning: number): string {
  const parts = handoffs.map((h) => {
    const lines = [
      `### ${h.taskId}: ${h.title} — ${h.status}${h.commit ? ` (${h.commit.slice(0, 10)})` : ''}`,
      h.summary,
    ];
    if (h.notes) lines.push(`Notes: ${h.notes}`);
    if (h.concerns.length) lines.push(`Concerns:\n${h.concerns.map((c) => `- ${c}`).join('\n')}`);
    if (h.deviations.length) lines.push(`Deviations:\n${h.deviations.map((c) => `- ${c}`).join('\n')}`);
    if (h.findings.length) lines.push(`Findings:\n${h.findings.map((c) => `- ${c}`).join('\n')}`);
    if (h.filesChanged.length) lines.push(`Files: ${h.filesChanged.slice(0, 20).join(', ')}`);
    if (h.incidents?.length) {
      lines.push(
        `Shared branches moved behind longrun's back (restored):\n${h.incidents.map((i) => `- ${describeIncident(i)}`).join('\n')}`,
      );
    }
    return lines.join('\n');
  });
  return [
    `${handoffs.length} handoff(s) arrived${stillRunning ? `; ${stillRunning} agent(s) still running` : ''}.`,
    '',
    ...parts,
    '',
    'Look at the current code if you need to, then submit_plan: follow-up tasks for what is missing, failed or ' +
      'raised as a concern (do not repeat merged work), or done=true if your scope is complete.',
  ].join('\n');
}

export function guidanceMessage(
  guidance: string[],
  queued: Array<{ kind: string; spec: { title?: string; scope?: string } }>,
): string {
  const q = queued.map((w) => `- ${w.kind === 'task' ? w.spec.title : `sub-planner: ${w.spec.scope}`}`).join('\n');
  return [
    `The operator sent new guidance:\n${guidance.map((g) => `> ${g}`).join('\n')}`,
    queued.length ? `Work queued but not started:\n${q}` : 'Nothing is queued.',
    'Re-plan with this guidance and submit_plan. Your plan replaces the queued work; running agents go on.',
  ].join('\n\n');
}
