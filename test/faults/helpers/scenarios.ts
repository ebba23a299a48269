import type { Fault, ScenarioFn, SimMessage, SimRequest, SimResponse, SimToolCallSpec } from '../../../src/sim/types';

/**
 * Scenario wrappers for the fault suite. The scripted team (src/demo/team-scenario.ts) assumes every tool call
 * succeeds; a real model reads its tool results and tries again. These wrappers add that behaviour, and inject
 * faults at chosen requests, so a run under faults can still reach the same tree as a run without them.
 */

export type AgentRole = 'planner' | 'subplanner' | 'worker' | 'judge' | 'compactor' | 'other';

/** Who is asking: the role (from the system prompt), the task title of a worker, the cycle, the turn. */
export function who(req: SimRequest): { role: AgentRole; title: string; cycle: number; turn: number } {
  const s = req.system;
  const role: AgentRole = s.includes('You are the root planner')
    ? 'planner'
    : s.includes('You are a sub-planner')
      ? 'subplanner'
      : s.includes('You are a senior software engineer')
        ? 'worker'
        : s.includes('You are the judge')
          ? 'judge'
          : s.includes('You compress')
            ? 'compactor'
            : 'other';
  const title = /# Your task: (.+)/.exec(req.text)?.[1]?.trim() ?? '';
  const cycle = Number(/# Cycle (\d+)/.exec(req.text)?.[1] ?? 1);
  return { role, title, cycle, turn: req.turn };
}

/** One agent's conversation: its system prompt and first user message (the briefing) identify it. */
export function agentKey(req: SimRequest): string {
  const first = req.messages.find((m) => m.role === 'user')?.text ?? '';
  return `${req.system.length}:${req.system.slice(0, 200)}\n${first}`;
}

const FAILED_TOOL = /^The tool failed: /;
const RECHECK = 'recheck_';

/** Calls of the last assistant message and their results in this request. */
function lastTurn(req: SimRequest): { calls: SimToolCallSpec[]; results: Map<string, SimMessage> } {
  const i = req.messages.map((m) => m.role).lastIndexOf('assistant');
  if (i < 0) return { calls: [], results: new Map() };
  const calls = (req.messages[i].toolCalls ?? []).map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
  const results = new Map<string, SimMessage>();
  for (const m of req.messages.slice(i + 1)) if (m.role === 'tool' && m.toolCallId) results.set(m.toolCallId, m);
  return { calls, results };
}

function findCall(req: SimRequest, id: string): SimToolCallSpec | undefined {
  for (const m of req.messages)
    for (const c of m.toolCalls ?? []) if (c.id === id) return { name: c.name, arguments: c.arguments };
  return undefined;
}

let retryIds = 0;

/**
 * What a careful model does when a tool call failed for a reason outside its control (`The tool failed: ...`, e.g. a
 * worker crashed while the tool ran; tools get one attempt): it calls the tool again. An edit may or may not have
 * been applied before the crash, so an edit is first re-read and only re-applied when its new text is missing.
 * Returns null when the last turn needs no repair.
 */
export function repairFailedTools(req: SimRequest): SimResponse | null {
  const { calls, results } = lastTurn(req);
  const out: SimToolCallSpec[] = [];
  for (const c of calls) {
    const result = results.get(c.id ?? '');
    if (c.id?.startsWith(RECHECK) && result) {
      // The re-read of a failed edit: re-apply it unless its new text is there.
      const edit = findCall(req, c.id.slice(RECHECK.length));
      const args = (edit?.arguments ?? {}) as { newText?: string };
      const present = !result.isError && (args.newText ?? '').split('\n').every((line) => result.text.includes(line));
      if (edit && !present) out.push({ id: `retry_${++retryIds}`, name: edit.name, arguments: edit.arguments });
      continue;
    }
    if (!result || !FAILED_TOOL.test(result.text)) continue;
    if (c.name === 'edit_file') {
      out.push({
        id: `${RECHECK}${c.id}`,
        name: 'read_file',
        arguments: { path: (c.arguments as { path?: string })?.path },
      });
    } else {
      out.push({ id: `retry_${++retryIds}`, name: c.name, arguments: c.arguments });
    }
  }
  return out.length ? { toolCalls: out } : null;
}

/** The base scenario, plus retries of tool calls that failed for infrastructure reasons. */
export function retryingTools(base: ScenarioFn): ScenarioFn {
  return async (req) => repairFailedTools(req) ?? (await base(req));
}

/** Faults the model makes in its own answer: the agent's next request gets the intended answer (a correction). */
export type ConversationFault = 'malformed-json' | 'unknown-tool' | 'invalid-plan' | 'empty-reply';

export interface FaultRule {
  name: string;
  /** Which requests get the fault; the first `times` (default 1) matching requests do. */
  when: (req: SimRequest) => boolean;
  times?: number;
  /** An HTTP-level fault (429, 529, 500, hang, reset): the same request is retried by Temporal. */
  http?: Fault;
  /** A mistake in the model's answer, corrected on the agent's next request. */
  conversation?: ConversationFault;
}

export interface FaultLog {
  rule: string;
  index: number;
  role: AgentRole;
  turn: number;
}

/** A scenario with faults injected by `rules`; `log` records every injection. */
export function withFaults(base: ScenarioFn, rules: FaultRule[]): ScenarioFn & { log: FaultLog[] } {
  const used = new Map<FaultRule, number>();
  const pending = new Map<string, SimResponse>();
  const log: FaultLog[] = [];
  const pick = (req: SimRequest, kind: 'http' | 'conversation') =>
    rules.find((r) => !!r[kind] && (used.get(r) ?? 0) < (r.times ?? 1) && r.when(req));
  const note = (rule: FaultRule, req: SimRequest) => {
    used.set(rule, (used.get(rule) ?? 0) + 1);
    const w = who(req);
    log.push({ rule: rule.name, index: req.index, role: w.role, turn: w.turn });
  };

  const fn = async (req: SimRequest): Promise<SimResponse | null> => {
    const key = agentKey(req);
    const correction = pending.get(key);
    const http = pick(req, 'http');
    if (http) {
      note(http, req);
      return { fault: http.http }; // the correction (if any) waits for the retried request
    }
    const intended = correction ?? repairFailedTools(req) ?? (await base(req));
    if (!intended) return null;
    pending.delete(key);
    const conv = pick(req, 'conversation');
    if (!conv) return intended;
    const corrupted = corrupt(intended, conv.conversation!);
    if (!corrupted) return intended;
    note(conv, req);
    pending.set(key, fresh(corrupted.correction));
    return corrupted.response;
  };
  return Object.assign(fn, { log });
}

/** The same answer with new call ids (an id must not repeat in one conversation). */
function fresh(r: SimResponse): SimResponse {
  return r.toolCalls ? { ...r, toolCalls: r.toolCalls.map((c) => ({ ...c, id: `fix_${++retryIds}` })) } : r;
}

/** The corrupted answer, and what the model sends next once it has read the result: only what failed, again. */
function corrupt(r: SimResponse, kind: ConversationFault): { response: SimResponse; correction: SimResponse } | null {
  const calls = r.toolCalls ?? [];
  switch (kind) {
    case 'empty-reply':
      return { response: { text: 'Let me think about this a little more.' }, correction: r };
    case 'malformed-json':
      // Every call of the answer gets truncated JSON arguments.
      return calls.length ? { response: { ...r, fault: { kind: 'malformed-tool-json' } }, correction: r } : null;
    case 'unknown-tool': {
      if (!calls.length) return null;
      const [first, ...rest] = calls;
      return {
        response: { ...r, toolCalls: [{ ...first, name: `${first.name}_v2` }, ...rest] },
        correction: { toolCalls: [first] },
      };
    }
    case 'invalid-plan': {
      const plan = calls.find((c) => c.name === 'submit_plan');
      if (!plan) return null;
      // Valid JSON, invalid plan: an empty rationale and a task without acceptance criteria.
      const bad = {
        rationale: '',
        tasks: [{ title: 'Fix everything', description: 'All of it.', acceptance: [] }],
        done: false,
      };
      return {
        response: { ...r, toolCalls: calls.map((c) => (c === plan ? { ...c, arguments: bad } : c)) },
        correction: { toolCalls: [plan] },
      };
    }
  }
}

/** Routes each request to the scenario of the run whose tag appears in the agent's briefing (concurrent runs, one simulator). */
export function byRunTag(scenarios: Map<string, ScenarioFn>): ScenarioFn {
  return (req) => {
    const briefing = req.messages.find((m) => m.role === 'user')?.text ?? req.text;
    for (const [tag, fn] of scenarios) if (briefing.includes(tag)) return fn(req);
    return null;
  };
}
