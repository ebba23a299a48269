/**
 * Stuck agents, without Temporal: an agent that makes the same tool call (same tool, same arguments preview) over
 * and over, or gets the same failure from the same command again and again, is told so once; if it goes on, it is
 * stopped and hands off `abandoned`, saying on what it was stuck. agent.ts feeds it every tool result.
 */

export interface StuckState {
  /** The last call's key and how many times in a row it was made. */
  last: string | null;
  streak: number;
  /** Failures seen per (command, failure summary), over the agent's life (a few keys: failing commands repeat). */
  failures: Record<string, number>;
  warned: boolean;
}

export interface ToolOutcomeSeen {
  name: string;
  /** The arguments' preview ("npm test", "src/a.ts"). */
  preview: string;
  ok: boolean;
  /** The tool's one-line summary ("exit 1: npm test"). */
  summary: string;
}

export type StuckVerdict = { kind: 'ok' } | { kind: 'warn'; what: string } | { kind: 'stuck'; what: string };

export const initialStuck = (): StuckState => ({ last: null, streak: 0, failures: {}, warned: false });

const FAILURE_KEYS = 50;

/**
 * `repeats` times the same call in a row, or the same failure `repeats` times: warn once. Twice that: stuck. A
 * different call resets the streak, not the failure counts.
 */
export function trackTool(
  s: StuckState,
  t: ToolOutcomeSeen,
  repeats: number,
): { state: StuckState; verdict: StuckVerdict } {
  const key = `${t.name}(${t.preview})`;
  const streak = s.last === key ? s.streak + 1 : 1;
  const failures = { ...s.failures };
  let failKey: string | null = null;
  if (!t.ok) {
    failKey = `${key} → ${t.summary}`;
    failures[failKey] = (failures[failKey] ?? 0) + 1;
    const keys = Object.keys(failures);
    if (keys.length > FAILURE_KEYS) delete failures[keys[0]];
  }
  const worst = Math.max(streak, failKey ? failures[failKey] : 0);
  const what =
    failKey && failures[failKey] >= streak
      ? `got the same failure ${failures[failKey]} times from ${key}: ${t.summary}`
      : `made the same call ${streak} times in a row: ${key}`;
  const state: StuckState = { last: key, streak, failures, warned: s.warned };
  if (repeats <= 0 || worst < repeats) return { state, verdict: { kind: 'ok' } };
  if (s.warned && worst >= 2 * repeats) return { state, verdict: { kind: 'stuck', what } };
  if (!s.warned) return { state: { ...state, warned: true }, verdict: { kind: 'warn', what } };
  return { state, verdict: { kind: 'ok' } };
}

export function stuckWarning(what: string): string {
  return (
    `You look stuck: you ${what}. Doing it again will not give a different result. Change approach: read the ` +
    'error, look at a different file, or finish with outcome "blocked" explaining what stops you. If you keep ' +
    'repeating, the task ends as abandoned.'
  );
}
