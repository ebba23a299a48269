/**
 * A scripted team for the simulated model server: it plays the root planner, a sub-planner, the workers and the
 * judge on the sample repository (sample-repo.ts), through the real provider SDKs. Deterministic by design: every
 * answer is a function of the request, so crashed and replayed runs produce the same tree.
 *
 * Cycle 1: the root planner explores, plans 4 tasks and one sub-planner (lib/geometry, 2 tasks). Every task adds a
 * line under the same anchor of CHANGELOG.md, so workers that merge after the first one hit real conflicts and
 * resolve them. The judge continues once; cycle 2 documents the library, and the judge says done when the receipt
 * passes.
 */
import type { SimMessage, SimRequest, SimResponse, SimToolCallSpec } from '../sim/types';

export interface TeamOptions {
  /** 'normal': continue after cycle 1, done afterwards when tests pass. 'always-done': done every cycle. */
  judge?: 'normal' | 'always-done' | 'always-continue';
  /** Plan the fix for the failing test only in cycle 2 (so cycle 1 ends with failing tests). */
  deferFix?: boolean;
  /** Extra tool turns per worker before it writes (to make runs longer, e.g. for crash tests). */
  workerExploreTurns?: number;
}

interface TaskScript {
  title: string;
  files: Record<string, string>;
}

const ANCHOR = '<!-- entries -->';

const FIX: TaskScript = {
  title: 'Fix sub() in lib/math.js',
  files: { 'lib/math.js': 'exports.add = (a, b) => a + b;\nexports.sub = (a, b) => a - b;\n' },
};

const module_ = (name: string, body: string, test: string, dir = 'lib'): TaskScript => ({
  title: `Add ${name}() in ${dir}/${name}.js`,
  files: {
    [`${dir}/${name}.js`]: `module.exports = ${body};\n`,
    [`tests/${name}.test.js`]: `const assert = require('assert');\nconst ${name} = require('../${dir}/${name}');\n${test}\n`,
  },
});

const ROOT_TASKS: TaskScript[] = [
  FIX,
  module_('clamp', '(x, lo, hi) => Math.min(hi, Math.max(lo, x))', 'assert.strictEqual(clamp(5, 0, 3), 3);'),
  module_('mean', '(xs) => xs.reduce((a, b) => a + b, 0) / xs.length', 'assert.strictEqual(mean([1, 2, 3]), 2);'),
  module_('max', '(xs) => xs.reduce((a, b) => (b > a ? b : a))', 'assert.strictEqual(max([1, 7, 3]), 7);'),
];
const GEOMETRY_TASKS: TaskScript[] = [
  module_('area', '(w, h) => w * h', 'assert.strictEqual(area(2, 3), 6);', 'lib/geometry'),
  module_('perimeter', '(w, h) => 2 * (w + h)', 'assert.strictEqual(perimeter(2, 3), 10);', 'lib/geometry'),
];
const DOCS: TaskScript = {
  title: 'Document the library in README.md',
  files: {
    'README.md':
      '# calc\n\nA tiny arithmetic library: add, sub, clamp, mean, max, and geometry (area, perimeter).\n\nRun the tests with `node test.js`.\n',
  },
};
const LICENSE: TaskScript = {
  title: 'Add a LICENSE file',
  files: {
    LICENSE:
      'MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software.\n',
  },
};
const ALL_TASKS = [...ROOT_TASKS, ...GEOMETRY_TASKS, DOCS, LICENSE];

const taskSpec = (t: TaskScript) => ({
  title: t.title,
  description: `${t.title}. Add a test, and a line to CHANGELOG.md under "Unreleased".`,
  acceptance: ['`node test.js` passes', 'CHANGELOG.md mentions the change'],
  files: Object.keys(t.files),
});

let callCounter = 0;
const call = (name: string, args: unknown): SimToolCallSpec => ({ id: `call_${++callCounter}`, name, arguments: args });
const tools = (...calls: SimToolCallSpec[]): SimResponse => ({ toolCalls: calls });

export function teamScenario(opts: TeamOptions = {}) {
  return (req: SimRequest): SimResponse | null => {
    const system = req.system;
    if (system.includes('You are the root planner')) return rootPlanner(req, opts);
    if (system.includes('You are a sub-planner')) return subPlanner(req);
    if (system.includes('You are a senior software engineer')) return worker(req, opts);
    if (system.includes('You are the judge')) return judge(req, opts);
    if (system.includes('You compress')) return { text: 'Summary: the agent wrote its files and ran the tests.' };
    return null;
  };
}

function cycleOf(req: SimRequest): number {
  const m = /# Cycle (\d+)/.exec(req.text);
  return m ? Number(m[1]) : 1;
}

/** Operator guidance: keep the queued work, and add a LICENSE task when the guidance asks for one. */
function replan(last: SimMessage): SimResponse {
  const queued = /Work queued but not started:\n((?:- .*\n?)*)/.exec(last.text)?.[1] ?? '';
  const titles = queued
    .split('\n')
    .map((l) => l.replace(/^- /, '').trim())
    .filter(Boolean);
  const tasks = ALL_TASKS.filter((t) => titles.includes(t.title));
  if (/LICENSE/i.test(last.text)) tasks.push(LICENSE);
  return tools(
    call('submit_plan', {
      rationale: 'Re-planned with the operator guidance.',
      tasks: tasks.map(taskSpec),
      subplanners: [],
      done: false,
    }),
  );
}

function rootPlanner(req: SimRequest, opts: TeamOptions): SimResponse {
  const last = req.messages.at(-1)!;
  if (last.role === 'user' && last.text.includes('operator sent new guidance')) return replan(last);
  if (last.role === 'user' && /handoff\(s\) arrived/.test(last.text)) {
    return tools(
      call('submit_plan', {
        rationale: 'All planned work has been handed off.',
        tasks: [],
        subplanners: [],
        done: true,
      }),
    );
  }
  if (req.turn === 0) return tools(call('list_dir', { path: '.', depth: 2 }));
  const cycle = cycleOf(req);
  if (cycle === 1) {
    const tasks = opts.deferFix ? ROOT_TASKS.slice(1) : ROOT_TASKS;
    return tools(
      call('submit_plan', {
        rationale: 'Fix the failing test and add the missing helpers; geometry is its own area.',
        tasks: tasks.map(taskSpec),
        subplanners: [
          { scope: 'lib/geometry', description: 'Add geometry helpers: area() and perimeter(), each with a test.' },
        ],
        done: false,
      }),
    );
  }
  const tasks = opts.deferFix && cycle === 2 ? [FIX, DOCS] : [DOCS];
  return tools(
    call('submit_plan', {
      rationale: 'Document what cycle 1 built.',
      tasks: tasks.map(taskSpec),
      subplanners: [],
      done: true,
    }),
  );
}

function subPlanner(req: SimRequest): SimResponse {
  const last = req.messages.at(-1)!;
  if (last.role === 'user' && /handoff\(s\) arrived|operator sent new guidance/.test(last.text)) {
    return tools(call('submit_plan', { rationale: 'Geometry is complete.', tasks: [], subplanners: [], done: true }));
  }
  if (req.turn === 0) return tools(call('search', { pattern: 'exports', path: 'lib' }));
  // What the search found is already there (a sub-planner restarted after its host was lost): plan only the rest.
  const found = [...req.messages].reverse().find((m) => m.role === 'tool')?.text ?? '';
  const missing = GEOMETRY_TASKS.filter(
    (t) => !Object.keys(t.files).some((f) => f.startsWith('lib/') && found.includes(f)),
  );
  return tools(
    call('submit_plan', {
      rationale: missing.length ? 'One task per helper.' : 'Geometry is complete.',
      tasks: missing.map(taskSpec),
      subplanners: [],
      done: true,
    }),
  );
}

function worker(req: SimRequest, opts: TeamOptions): SimResponse {
  const title = /# Your task: (.+)/.exec(req.text)?.[1]?.trim() ?? '';
  const script = ALL_TASKS.find((t) => t.title === title);
  if (!script) return tools(call('finish', { outcome: 'blocked', summary: `No script for task "${title}".` }));
  const last = req.messages.at(-1)!;
  const previousCalls = [...req.messages].reverse().find((m) => m.role === 'assistant')?.toolCalls ?? [];

  if (last.role === 'user' && last.text.startsWith('Resolve the merge conflicts')) {
    const conflict = [...req.messages].reverse().find((m) => m.role === 'tool' && m.text.includes('Not merged'));
    return tools(...resolveConflicts(conflict), call('run_command', { command: 'node test.js' }));
  }
  const explore = opts.workerExploreTurns ?? 0;
  if (req.turn < explore) return tools(call('read_file', { path: 'AGENTS.md' }));
  if (req.turn === explore) {
    return tools(
      ...Object.entries(script.files).map(([path, content]) => call('write_file', { path, content })),
      call('edit_file', { path: 'CHANGELOG.md', oldText: ANCHOR, newText: `${ANCHOR}\n- ${script.title}` }),
    );
  }
  if (!previousCalls.some((c) => c.name === 'run_command'))
    return tools(call('run_command', { command: 'node test.js' }));
  return tools(
    call('finish', {
      outcome: 'done',
      summary: `${script.title}: wrote ${Object.keys(script.files).join(', ')} and a CHANGELOG line; node test.js ran.`,
      notes: '',
      concerns: [],
      deviations: [],
      findings: ['Tests are plain node scripts under tests/, run by test.js.'],
    }),
  );
}

/** Rewrites each conflicted file shown in the conflict message, keeping both sides. */
export function resolveConflicts(message: SimMessage | undefined): SimToolCallSpec[] {
  if (!message) return [];
  const out: SimToolCallSpec[] = [];
  for (const m of message.text.matchAll(/### (.+)\n```\n([\s\S]*?)\n```/g)) {
    out.push(call('write_file', { path: m[1].trim(), content: keepBothSides(m[2]).trimEnd() + '\n' }));
  }
  return out;
}

export function keepBothSides(text: string): string {
  const out: string[] = [];
  let section: 'none' | 'ours' | 'base' | 'theirs' = 'none';
  for (const line of text.split('\n')) {
    if (line.startsWith('<<<<<<<')) section = 'ours';
    else if (line.startsWith('|||||||') && section === 'ours') section = 'base';
    else if (line.startsWith('=======') && section !== 'none') section = 'theirs';
    else if (line.startsWith('>>>>>>>') && section === 'theirs') section = 'none';
    else if (section !== 'base') out.push(line);
  }
  return out.join('\n');
}

function judge(req: SimRequest, opts: TeamOptions): SimResponse {
  const cycle = /# Cycle (\d+) of at most/.exec(req.text)?.[1];
  const passed = /: PASSED in/.test(req.text);
  const mode = opts.judge ?? 'normal';
  const decision =
    mode === 'always-done'
      ? 'done'
      : mode === 'always-continue'
        ? 'continue'
        : cycle === '1'
          ? 'continue'
          : passed
            ? 'done'
            : 'continue';
  return tools(
    call('submit_verdict', {
      decision,
      reasons: [
        decision === 'done'
          ? 'All planned work is merged and the tests pass.'
          : `Cycle ${cycle}: more to do (tests ${passed ? 'pass' : 'fail'}).`,
      ],
      nextFocus: decision === 'continue' ? 'Document the library; fix anything that fails.' : '',
      scratchpad: `After cycle ${cycle}: helpers merged; tests ${passed ? 'pass' : 'fail'}.`,
    }),
  );
}
