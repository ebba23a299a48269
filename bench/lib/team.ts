/**
 * A scripted team for benches (a ScenarioFn for the simulator): the root planner plans a fixed layout of tasks and
 * sub-planners per cycle, each worker takes a fixed number of cheap `read_file` turns (optionally writing one file
 * first, so its finish merges) and finishes, and the judge continues until a given cycle. Every answer is a function
 * of the request, so a bench is repeatable. Agents are recognised by their system prompt; tasks by their title,
 * which carries cycle, scope and index: "Bench task c3 s0 t7" (scope 0 is the root planner's own).
 */
import type { Latency, SimRequest, SimResponse, SimToolCallSpec } from '../../src/sim/types';

export interface TaskKey {
  cycle: number;
  /** 0: planned by the root planner; k: by sub-planner k. */
  scope: number;
  index: number;
}

export interface Layout {
  /** Tasks the root planner plans itself. */
  tasks: number;
  /** One entry per sub-planner: how many tasks it plans. */
  scopes: number[];
}

export interface BenchTeamOptions {
  layout(cycle: number): Layout;
  /** `read_file` turns a worker takes before it calls finish. */
  workerTurns(task: TaskKey): number;
  /** Simulated latency of a worker's model turn; planners and the judge answer at once. */
  workerLatency?(task: TaskKey, turn: number): Latency | undefined;
  /** The judge says continue before this cycle and done from it on. */
  doneAtCycle: number;
  /** Each worker writes one new file on its first turn, so its finish merges a commit. */
  writes?: boolean;
  /** The root planner plans its own tasks in rounds of this many, re-planning as handoffs arrive. Default: all at once. */
  planBatch?(cycle: number): number | undefined;
  /** The root planner reads a file before each plan it submits (more events per planning round). */
  plannerExplores?(cycle: number): boolean;
}

export type AgentRole = 'planner' | 'subplanner' | 'worker' | 'judge' | 'compactor' | 'unknown';

export interface Classified {
  role: AgentRole;
  /** Stable per agent: the task title, the scope, "planner c3", "judge c3". */
  agent: string;
  task?: TaskKey;
}

const TITLE = /# Your task: (Bench task c(\d+) s(\d+) t(\d+))/;
const SCOPE = /# Your scope: (bench scope c(\d+) k(\d+) n(\d+))/;

export const taskTitle = (t: TaskKey) => `Bench task c${t.cycle} s${t.scope} t${t.index}`;

export function classify(req: SimRequest): Classified {
  const system = req.system;
  if (system.includes('You are a senior software engineer')) {
    const m = TITLE.exec(req.text);
    return m
      ? { role: 'worker', agent: m[1], task: { cycle: Number(m[2]), scope: Number(m[3]), index: Number(m[4]) } }
      : { role: 'worker', agent: 'worker ?' };
  }
  if (system.includes('You are the root planner')) return { role: 'planner', agent: `planner c${cycleOf(req.text)}` };
  if (system.includes('You are a sub-planner'))
    return { role: 'subplanner', agent: SCOPE.exec(req.text)?.[1] ?? 'scope ?' };
  if (system.includes('You are the judge')) return { role: 'judge', agent: `judge c${cycleOf(req.text)}` };
  if (system.includes('You compress')) return { role: 'compactor', agent: 'compactor' };
  return { role: 'unknown', agent: '?' };
}

function cycleOf(text: string): number {
  return Number(/# Cycle (\d+)/.exec(text)?.[1] ?? 1);
}

let callCounter = 0;
const call = (name: string, args: unknown): SimToolCallSpec => ({
  id: `call_b${++callCounter}`,
  name,
  arguments: args,
});
const tools = (...calls: SimToolCallSpec[]): SimResponse => ({ toolCalls: calls });

const spec = (t: TaskKey) => ({
  title: taskTitle(t),
  description: `Benchmark task ${t.index} of scope ${t.scope} in cycle ${t.cycle}: read a few files, then finish.`,
  acceptance: ['finish is called'],
  files: ['lib/math.js'],
});

/** Tasks already planned in this conversation (titles in earlier submit_plan calls). */
function plannedSoFar(req: SimRequest): number {
  let n = 0;
  for (const m of req.messages) {
    for (const c of m.toolCalls ?? []) {
      if (c.name === 'submit_plan') n += ((c.arguments as { tasks?: unknown[] })?.tasks ?? []).length;
    }
  }
  return n;
}

export function benchTeam(opts: BenchTeamOptions) {
  return (req: SimRequest): SimResponse | null => {
    const who = classify(req);
    switch (who.role) {
      case 'planner':
        return rootPlanner(req, opts);
      case 'subplanner':
        return subPlanner(req);
      case 'worker':
        return who.task
          ? worker(req, who.task, opts)
          : tools(call('finish', { outcome: 'blocked', summary: 'unknown task' }));
      case 'judge':
        return judge(req, opts);
      case 'compactor':
        return { text: 'Summary: the agent read a few files.' };
      default:
        return null;
    }
  };
}

function rootPlanner(req: SimRequest, opts: BenchTeamOptions): SimResponse {
  const cycle = cycleOf(req.text);
  const layout = opts.layout(cycle);
  const batch = opts.planBatch?.(cycle) ?? layout.tasks;
  const planned = plannedSoFar(req);
  const first = !req.messages.some((m) => m.toolCalls?.some((c) => c.name === 'submit_plan'));
  if (!first && planned >= layout.tasks) {
    return tools(
      call('submit_plan', {
        rationale: 'All planned work has been handed off.',
        tasks: [],
        subplanners: [],
        done: true,
      }),
    );
  }
  if (opts.plannerExplores?.(cycle) && req.messages.at(-1)?.role !== 'tool')
    return tools(call('read_file', { path: 'README.md' }));
  const next = Math.min(layout.tasks, planned + batch);
  const tasks = Array.from({ length: next - planned }, (_, i) => spec({ cycle, scope: 0, index: planned + i + 1 }));
  const subplanners = first
    ? layout.scopes.map((n, k) => ({
        scope: `bench scope c${cycle} k${k + 1} n${n}`,
        description: `Plan ${n} benchmark tasks.`,
      }))
    : [];
  return tools(call('submit_plan', { rationale: 'Benchmark plan.', tasks, subplanners, done: next >= layout.tasks }));
}

/** A sub-planner plans its n tasks in plans of at most 100 (the plan schema's limit), one plan per turn. */
function subPlanner(req: SimRequest): SimResponse {
  const m = SCOPE.exec(req.text);
  const [cycle, scope, n] = m ? [Number(m[2]), Number(m[3]), Number(m[4])] : [0, 0, 0];
  const planned = plannedSoFar(req);
  if (planned >= n)
    return tools(call('submit_plan', { rationale: 'Scope complete.', tasks: [], subplanners: [], done: true }));
  const count = Math.min(100, n - planned);
  const tasks = Array.from({ length: count }, (_, i) => spec({ cycle, scope, index: planned + i + 1 }));
  const done = planned + count >= n;
  return tools(call('submit_plan', { rationale: 'One task each.', tasks, subplanners: [], done }));
}

function worker(req: SimRequest, task: TaskKey, opts: BenchTeamOptions): SimResponse {
  const latency = opts.workerLatency?.(task, req.turn);
  const withLatency = (r: SimResponse): SimResponse => (latency ? { ...r, latency } : r);
  const first = opts.writes ? 1 : 0;
  if (opts.writes && req.turn === 0) {
    const file = `bench/c${task.cycle}-s${task.scope}-t${task.index}.txt`;
    return withLatency(tools(call('write_file', { path: file, content: `${taskTitle(task)}\n` })));
  }
  if (req.turn < first + opts.workerTurns(task)) {
    return withLatency(tools(call('read_file', { path: req.turn % 2 ? 'lib/math.js' : 'README.md' })));
  }
  return withLatency(
    tools(
      call('finish', {
        outcome: 'done',
        summary: `${taskTitle(task)}: read the files${opts.writes ? ' and wrote one' : ''}.`,
        notes: '',
        concerns: [],
        deviations: [],
        findings: [],
      }),
    ),
  );
}

function judge(req: SimRequest, opts: BenchTeamOptions): SimResponse {
  const cycle = cycleOf(req.text);
  const decision = cycle >= opts.doneAtCycle ? 'done' : 'continue';
  return tools(
    call('submit_verdict', {
      decision,
      reasons: [`Benchmark cycle ${cycle}.`],
      nextFocus: decision === 'continue' ? 'More benchmark tasks.' : '',
      scratchpad: `After cycle ${cycle}.`,
    }),
  );
}
