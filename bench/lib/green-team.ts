/**
 * A stochastic team for the green-branch bench (a ScenarioFn for the simulator), seeded: every answer is a function
 * of the request and the seed, so a run is repeatable up to the order in which the orchestrator asks.
 *
 * The repository's test command is real: `node check.js` fails, naming the file, for every file under work/ that
 * contains BROKEN. The root planner plans `tasks` tasks ("Bench task c1 s0 tK", as in team.ts); each worker writes
 * its own file work/tK.txt and merges. Per task, drawn from the seed: with probability `pBreak` its file says
 * BROKEN (it finishes `done` all the same), with `pLoop` it repeats one read_file call until longrun stops it, with
 * `pSkipTests` it finishes without running the tests. A worker whose test run fails on files it did not write
 * "piles on" with probability `pPileOn` (rewrites those files) unless the tool result says the break is known and
 * owned (known-red.ts's note). The planner answers a red alert with one fixer task, or ignores it
 * (`plannerFixes: false`); a cycle after the first plans one sweep task that makes the tests pass. The judge always
 * says done: whether longrun accepts that on a red target is what the bench counts.
 */
import { resolveConflicts } from '../../src/demo/team-scenario';
import type { Latency, SimRequest, SimResponse, SimToolCallSpec } from '../../src/sim/types';
import { RED_ALERT } from '../../src/workflows/lib/checks';
import { classify, taskTitle } from './team';

export interface GreenTeamOptions {
  seed: number;
  tasks: number;
  pBreak: number;
  pLoop: number;
  pSkipTests: number;
  pPileOn: number;
  /** The planner makes the one fixer a red alert asks for; false: it ignores alerts. */
  plannerFixes: boolean;
  /** read_file turns a worker takes between writing its file and testing (spreads merges over time). */
  readTurns: number;
  workerLatency?(task: number, turn: number): Latency | undefined;
}

export const TEST_COMMAND = 'node check.js';
export const CHECK_JS = [
  "const fs = require('fs');",
  "const path = require('path');",
  "const dir = path.join(__dirname, 'work');",
  'const files = fs.readdirSync(dir).sort();',
  "const bad = files.filter((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('BROKEN'));",
  'for (const f of bad) console.log(`FAIL work/${f}: contains BROKEN`);',
  'if (bad.length) process.exit(1);',
  'console.log(`ok ${files.length} files`);',
  '',
].join('\n');

/** The files of the repository the team works on (write them, then commit). */
export const GREEN_REPO_FILES: Record<string, string> = {
  'check.js': CHECK_JS,
  'work/base.txt': 'base\n',
  'README.md': '# green\n\nEach task writes work/<task>.txt. `node check.js` fails for files that contain BROKEN.\n',
};

export interface Traits {
  breaks: boolean;
  loops: boolean;
  skipsTests: boolean;
  pilesOn: boolean;
}

/** A uniform draw in [0, 1) from (seed, task, salt): a 32-bit integer hash (murmur3's finaliser). */
export function draw(seed: number, task: number, salt: number): number {
  let h = (seed ^ Math.imul(task, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/** What task `task` does, from the seed alone. A looping worker never merges, so it neither breaks nor piles on. */
export function traitsOf(
  o: Pick<GreenTeamOptions, 'seed' | 'pBreak' | 'pLoop' | 'pSkipTests' | 'pPileOn'>,
  task: number,
): Traits {
  const loops = draw(o.seed, task, 1) < o.pLoop;
  return {
    loops,
    breaks: !loops && draw(o.seed, task, 2) < o.pBreak,
    skipsTests: !loops && draw(o.seed, task, 3) < o.pSkipTests,
    pilesOn: !loops && draw(o.seed, task, 4) < o.pPileOn,
  };
}

export const fileOf = (task: number) => `work/t${task}.txt`;

/** The files a failing `node check.js` names. */
export const failingFiles = (output: string) => [...output.matchAll(/^FAIL (work\/\S+):/gm)].map((m) => m[1]);

/** Whether a tool result carries longrun's known-red note for a break the worker did not cause. */
export const toldKnownRed = (toolResult: string) => toolResult.includes('[longrun: the target is known red');

export type Decision =
  | { kind: 'pile-on'; files: string[] }
  | { kind: 'held-back'; files: string[]; why: 'known-red' | 'trait' }
  | { kind: 'clean' };

/** What a worker does after its test run: the files that fail and are not its own are someone else's break. */
export function decideAfterTests(ownFile: string, toolResult: string, pilesOn: boolean): Decision {
  const foreign = failingFiles(toolResult).filter((f) => f !== ownFile);
  if (!foreign.length) return { kind: 'clean' };
  if (toldKnownRed(toolResult)) return { kind: 'held-back', files: foreign, why: 'known-red' };
  if (!pilesOn) return { kind: 'held-back', files: foreign, why: 'trait' };
  return { kind: 'pile-on', files: foreign };
}

/** What the scenario saw each agent do, for the bench's figures (answers never depend on it). */
export interface TeamLog {
  /** Per agent (task title): the files it wrote, and whether it is a fixer (planner's, longrun's or the sweep). */
  writes: Map<string, { files: Set<string>; fixer: boolean }>;
  decisions: Array<{ agent: string; decision: Decision }>;
  skippedTests: Set<string>;
  loops: Set<string>;
  alerts: number;
  fixersPlanned: number;
}

export const newTeamLog = (): TeamLog => ({
  writes: new Map(),
  decisions: [],
  skippedTests: new Set(),
  loops: new Set(),
  alerts: 0,
  fixersPlanned: 0,
});

/**
 * Pile-on per break: for each broken file (the breaking agent's own), the agents other than its author and the
 * fixers that wrote it. Pure, from who wrote what.
 */
export function pileOnPerBreak(
  writes: Map<string, { files: Set<string>; fixer: boolean }>,
  breaks: Array<{ agent: string; file: string }>,
): Array<{ file: string; agent: string; pileOn: string[] }> {
  return breaks.map((b) => ({
    ...b,
    pileOn: [...writes]
      .filter(([agent, w]) => agent !== b.agent && !w.fixer && w.files.has(b.file))
      .map(([agent]) => agent)
      .sort(),
  }));
}

let callCounter = 0;
const call = (name: string, args: unknown): SimToolCallSpec => ({
  id: `call_g${++callCounter}`,
  name,
  arguments: args,
});
const tools = (...calls: SimToolCallSpec[]): SimResponse => ({ toolCalls: calls });
const PLAN_MAX = 100; // the plan schema's limit

const taskSpec = (index: number) => ({
  title: taskTitle({ cycle: 1, scope: 0, index }),
  description: `Write ${fileOf(index)}, run \`${TEST_COMMAND}\`, and finish.`,
  acceptance: [`\`${TEST_COMMAND}\` passes`],
  files: [fileOf(index)],
});

export function greenTeam(opts: () => GreenTeamOptions, log: () => TeamLog) {
  return (req: SimRequest): SimResponse | null => {
    const o = opts();
    const who = classify(req);
    switch (who.role) {
      case 'planner':
        return planner(req, o, log());
      case 'worker':
        return who.task ? worker(req, who.task.index, o, log()) : fixer(req, log());
      case 'judge':
        return tools(
          call('submit_verdict', { decision: 'done', reasons: ['Looks done.'], nextFocus: '', scratchpad: '' }),
        );
      case 'compactor':
        return { text: 'Summary: the agent wrote its file and ran the checks.' };
      default:
        return null;
    }
  };
}

/** The highest task index planned so far in this conversation (plans re-submit queued tasks after an alert). */
function plannedSoFar(req: SimRequest): number {
  let n = 0;
  for (const m of req.messages)
    for (const c of m.toolCalls ?? [])
      for (const t of (c.arguments as { tasks?: Array<{ title?: string }> })?.tasks ?? [])
        n = Math.max(n, Number(/ t(\d+)$/.exec(t.title ?? '')?.[1] ?? 0));
  return n;
}

function planner(req: SimRequest, o: GreenTeamOptions, log: TeamLog): SimResponse {
  const cycle = Number(/# Cycle (\d+)/.exec(req.text)?.[1] ?? 1);
  const last = req.messages.at(-1)!;
  const plan = (tasks: unknown[], done: boolean) =>
    tools(call('submit_plan', { rationale: 'Green bench.', tasks, subplanners: [], done }));
  if (cycle > 1) {
    if (req.messages.some((m) => m.toolCalls?.some((c) => c.name === 'submit_plan'))) return plan([], true);
    const sweep = `Sweep c${cycle}: make \`${TEST_COMMAND}\` pass`;
    return plan([{ title: sweep, description: sweep, acceptance: [`\`${TEST_COMMAND}\` passes`], files: [] }], true);
  }
  const planned = plannedSoFar(req);
  if (last.role === 'user' && last.text.includes(RED_ALERT)) {
    log.alerts++;
    // The plan replaces the queued work: keep it, and add the fixer (or not).
    const queued = [
      ...(/Work queued but not started:\n((?:- .*\n?)*)/.exec(last.text)?.[1] ?? '').matchAll(/ t(\d+)$/gm),
    ];
    const keep = queued.map((m) => taskSpec(Number(m[1])));
    const id = /"fixes": "([0-9a-f]{12})"/.exec(last.text)?.[1];
    if (!o.plannerFixes || !id) return plan(keep, planned >= o.tasks);
    log.fixersPlanned++;
    const title = `Fix break ${id}`;
    const fix = {
      title,
      description: `\`${TEST_COMMAND}\` fails since ${id}.`,
      acceptance: ['it passes'],
      files: [],
      fixes: id,
    };
    return plan([fix, ...keep], planned >= o.tasks);
  }
  if (planned >= o.tasks) return plan([], true);
  const next = Math.min(o.tasks, planned + PLAN_MAX);
  return plan(
    Array.from({ length: next - planned }, (_, i) => taskSpec(planned + i + 1)),
    next >= o.tasks,
  );
}

function noteWrites(log: TeamLog, agent: string, files: string[], fixer: boolean) {
  const w = log.writes.get(agent) ?? { files: new Set<string>(), fixer };
  for (const f of files) w.files.add(f);
  log.writes.set(agent, w);
}

const lastCallOf = (req: SimRequest) => [...req.messages].reverse().find((m) => m.role === 'assistant')?.toolCalls?.[0];
const ranTests = (req: SimRequest) => req.messages.some((m) => m.toolCalls?.some((c) => c.name === 'run_command'));

/** The text of the latest merge refused by mergePolicy tests-pass (integrate's 'tests-failed'), if it is the latest. */
const TESTS_REFUSED = 'Not merged: this run merges only work whose tests pass';
function refusedForTests(req: SimRequest): string | null {
  const tool = [...req.messages].reverse().find((m) => m.role === 'tool');
  const refusal = [...req.messages].reverse().find((m) => m.role === 'tool' && m.text.startsWith(TESTS_REFUSED));
  return refusal && (tool === refusal || lastCallOf(req)?.name === 'write_file') ? refusal.text : null;
}

function finish(summary: string): SimResponse {
  return tools(call('finish', { outcome: 'done', summary, notes: '', concerns: [], deviations: [], findings: [] }));
}

function resolve(req: SimRequest, agent: string, log: TeamLog, fixer: boolean): SimResponse | null {
  const last = req.messages.at(-1)!;
  if (!(last.role === 'user' && last.text.startsWith('Resolve the merge conflicts'))) return null;
  const conflict = [...req.messages].reverse().find((m) => m.role === 'tool' && m.text.includes('Not merged'));
  const calls = resolveConflicts(conflict);
  noteWrites(
    log,
    agent,
    calls.map((c) => (c.arguments as { path: string }).path),
    fixer,
  );
  return calls.length ? tools(...calls) : finish('Resolved the conflicts.');
}

function worker(req: SimRequest, task: number, o: GreenTeamOptions, log: TeamLog): SimResponse {
  const agent = taskTitle({ cycle: 1, scope: 0, index: task });
  const t = traitsOf(o, task);
  const latency = o.workerLatency?.(task, req.turn);
  const out = (r: SimResponse): SimResponse => (latency ? { ...r, latency } : r);
  const own = fileOf(task);
  const resolved = resolve(req, agent, log, false);
  if (resolved) return out(resolved);
  const refused = refusedForTests(req);
  if (refused) {
    // mergePolicy tests-pass refused the merge: repair what fails in its own file (its break), then finish again.
    if (lastCallOf(req)?.name === 'finish' && failingFiles(refused).includes(own))
      return out(tools(call('write_file', { path: own, content: `ok ${agent} (repaired)\n` })));
    return out(finish(`${agent}: repaired ${own}.`));
  }
  if (req.turn === 0) {
    noteWrites(log, agent, [own], false);
    return out(tools(call('write_file', { path: own, content: t.breaks ? `BROKEN by ${agent}\n` : `ok ${agent}\n` })));
  }
  if (t.loops) {
    log.loops.add(agent);
    return out(tools(call('read_file', { path: 'README.md' }))); // the same call, again and again
  }
  if (req.turn <= o.readTurns) return out(tools(call('read_file', { path: req.turn % 2 ? 'check.js' : 'README.md' })));
  if (t.skipsTests && !ranTests(req)) {
    log.skippedTests.add(agent);
    return out(finish(`${agent}: wrote ${own}.`));
  }
  if (!ranTests(req)) return out(tools(call('run_command', { command: TEST_COMMAND })));
  const last = req.messages.at(-1)!;
  if (lastCallOf(req)?.name === 'run_command' && last.role === 'tool') {
    const decision = decideAfterTests(own, last.text, t.pilesOn);
    log.decisions.push({ agent, decision });
    if (decision.kind === 'pile-on') {
      noteWrites(log, agent, decision.files, false);
      return out(
        tools(...decision.files.map((f) => call('write_file', { path: f, content: `repaired by ${agent}\n` }))),
      );
    }
  }
  return out(finish(`${agent}: wrote ${own} and ran \`${TEST_COMMAND}\`.`));
}

/** A fixer (the planner's, longrun's fallback, or a later cycle's sweep): test, rewrite what fails, test, finish. */
function fixer(req: SimRequest, log: TeamLog): SimResponse {
  const agent = /# Your task: (.+)/.exec(req.text)?.[1]?.trim() ?? 'fixer ?';
  const resolved = resolve(req, agent, log, true);
  if (resolved) return resolved;
  const last = req.messages.at(-1)!;
  const runs = req.messages.filter((m) => m.toolCalls?.some((c) => c.name === 'run_command')).length;
  if (runs === 0) return tools(call('run_command', { command: TEST_COMMAND }));
  if (runs === 1 && lastCallOf(req)?.name === 'run_command' && last.role === 'tool') {
    const failing = failingFiles(last.text);
    if (failing.length) {
      noteWrites(log, agent, failing, true);
      return tools(...failing.map((f) => call('write_file', { path: f, content: `fixed by ${agent}\n` })));
    }
  }
  if (runs === 1 && lastCallOf(req)?.name === 'write_file')
    return tools(call('run_command', { command: TEST_COMMAND }));
  return finish(`${agent}: \`${TEST_COMMAND}\` passes.`);
}
