import { listQuery } from '../../src/cli/commands/list';
import { elapsed, money, PLAIN, styleFor, table, truncate } from '../../src/cli/lib/format';
import {
  buildRunInput,
  defaultRunId,
  LIMIT_FLAGS,
  parseLimitValue,
  parseModelFlags,
  problemForFlags,
} from '../../src/cli/lib/run-input';
import { limitsSchema } from '../../src/core/schemas';
import { compareKeys } from '../../src/cli/lib/snapshot';
import { agentLines, diffSnapshots, eventLine, newEventMemory, type RunEvent } from '../../src/cli/lib/tree';
import { row, snap, view } from './fixtures';

describe('formatting', () => {
  test('money, elapsed, truncate', () => {
    expect(money(0.0123)).toBe('$0.0123');
    expect(money(12.345)).toBe('$12.35');
    expect(money(null)).toBe('$0.0000');
    expect(elapsed(850)).toBe('850ms');
    expect(elapsed(42_000)).toBe('42s');
    expect(elapsed(65_000)).toBe('1m05s');
    expect(elapsed(2 * 3600_000 + 3 * 60_000)).toBe('2h03m');
    expect(elapsed(26 * 3600_000)).toBe('1d02h');
    expect(truncate('a  long\ntitle here', 10)).toBe('a long ti…');
  });

  test('colours only on a TTY and never with NO_COLOR', () => {
    expect(styleFor({ isTTY: false }, {}).red('x')).toBe('x');
    expect(styleFor({ isTTY: true }, { NO_COLOR: '' }).red('x')).toBe('x');
    expect(styleFor({ isTTY: true }, {}).red('x')).toBe('\x1b[31mx\x1b[39m');
  });

  test('table aligns by visible width, numbers to the right', () => {
    const red = styleFor({ isTTY: true }, {}).red;
    const lines = table(
      [
        ['a', red('bb'), '1'],
        ['ccc', 'd', '100'],
      ],
      [2],
    );
    expect(lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''))).toEqual(['a    bb    1', 'ccc  d   100']);
  });
});

describe('run flags', () => {
  test('--model ROLE=provider:model, with the provider inferred or a model name containing colons', () => {
    const { models, problems } = parseModelFlags([
      'worker=anthropic:claude-haiku-4-5',
      'judge=gpt-5',
      'compactor=openai-compatible:llama3.1:70b',
    ]);
    expect(problems).toEqual([]);
    expect(models).toEqual({
      worker: { provider: 'anthropic', model: 'claude-haiku-4-5' },
      judge: { provider: 'openai', model: 'gpt-5' },
      compactor: { provider: 'openai-compatible', model: 'llama3.1:70b' },
    });
  });

  test('--model mistakes name the flag and the fix', () => {
    const { problems } = parseModelFlags([
      'x=openai:gpt-5',
      'worker',
      'planner=mystery',
      'worker=gpt-5',
      'worker=gpt-5-mini',
    ]);
    expect(problems).toEqual([
      "--model: unknown role 'x'; roles are planner, subplanner, worker, judge, compactor",
      "--model: expected ROLE=provider:model (e.g. worker=anthropic:claude-haiku-4-5), got 'worker'",
      "--model: cannot tell the provider of 'mystery' in 'planner=mystery'; write planner=PROVIDER:MODEL with PROVIDER one of openai, anthropic, openai-compatible",
      "--model: role 'worker' is given twice; keep one",
    ]);
  });

  test('the run input from flags: absolute repo path, limits only when given', () => {
    const { input } = buildRunInput(
      {
        repo: 'code/app',
        goal: 'g',
        testCmd: 'npm test',
        limits: { maxParallelAgents: 3, maxCycles: 2 },
        guidance: 'be careful',
      },
      '/home/u',
    );
    expect(input).toEqual({
      repo: '/home/u/code/app',
      goal: 'g',
      testCommand: 'npm test',
      limits: { maxParallelAgents: 3, maxCycles: 2 },
      guidance: 'be careful',
    });
    expect(buildRunInput({ repo: 'git@github.com:o/r.git', goal: 'g' }).input.repo).toBe('git@github.com:o/r.git');
  });

  test('problems are phrased in flags', () => {
    expect(problemForFlags('limits.maxCycles: Too big: expected number to be <=1000')).toBe(
      '--max-cycles: Too big: expected number to be <=1000',
    );
    expect(problemForFlags('workflow id "a b": becomes a git branch name')).toBe(
      '--id "a b": becomes a git branch name',
    );
    expect(
      problemForFlags(
        'role worker uses provider openai but OPENAI_API_KEY is not set; set it or choose another provider with models.worker.provider / models.judge.provider',
      ),
    ).toBe(
      'role worker uses provider openai but OPENAI_API_KEY is not set; set it or choose another provider with --model ROLE=provider:model',
    );
  });

  test('default run ids are valid branch names', () => {
    const id = defaultRunId(new Date(2025, 0, 2, 3, 4, 5), Buffer.from([0, 1, 2, 35]));
    expect(id).toBe('run-20250102-030405-abc9');
  });

  test('list queries use the search attributes', () => {
    expect(listQuery()).toBe('LongrunRole = "run" AND ExecutionStatus != "ContinuedAsNew"');
    expect(listQuery('done')).toContain('LongrunStatus = "done"');
    expect(listQuery('running')).toContain('ExecutionStatus = "Running"');
    expect(listQuery('failed')).toContain('ExecutionStatus IN ("Failed", "Terminated", "Canceled", "TimedOut")');
  });
});

describe('the tree', () => {
  test('ids sort numerically, sub-planners before tasks', () => {
    const keys = ['c1/planner/t10', 'c1/planner/t2', 'c1/planner/s1/t1', 'c1/planner', 'c1/planner/s1'];
    expect(keys.sort(compareKeys)).toEqual([
      'c1/planner',
      'c1/planner/s1',
      'c1/planner/s1/t1',
      'c1/planner/t2',
      'c1/planner/t10',
    ]);
  });

  test('agents nest under their planner with aligned columns', () => {
    const lines = agentLines(
      [
        row('c1/planner/t2', 'worker', 'merging'),
        row('c1/planner', 'planner', 'waiting'),
        row('c1/planner/s1', 'subplanner', 'planning'),
        row('c1/planner/s1/t1', 'worker', 'working'),
      ],
      PLAIN,
      61_000,
    );
    expect(lines).toEqual([
      '└─ planner        c1/planner        waiting   step 2  read_file  1m00s  $0.0100  c1/planner',
      '   ├─ subplanner  c1/planner/s1     planning  step 2  read_file  1m00s  $0.0100  c1/planner/s1',
      '   │  └─ worker   c1/planner/s1/t1  working   step 2  read_file  1m00s  $0.0100  c1/planner/s1/t1',
      '   └─ worker      c1/planner/t2     merging   step 2  read_file  1m00s  $0.0100  c1/planner/t2',
    ]);
  });
});

describe('events', () => {
  const text = (events: RunEvent[]) =>
    events
      .map((e) =>
        eventLine(e, PLAIN, 0, e.kind === 'finished' ? { status: 'merged', commit: 'abcdef123' } : undefined)?.slice(9),
      )
      .filter(Boolean);

  test('starts, state changes, finishes, phases and verdicts, each said once', () => {
    const memory = newEventMemory();
    const a = snap({ agents: [row('c1/planner', 'planner', 'planning')] });
    const b = snap({
      agents: [row('c1/planner', 'planner', 'waiting'), row('c1/planner/t1', 'worker', 'working', 'Add mean()')],
    });
    const c = snap({
      view: view({
        phase: 'publishing',
        lastVerdict: { decision: 'continue', reasons: ['more to do'], nextFocus: '', scratchpad: '' },
      }),
    });
    const d = snap({
      view: view({
        cycle: 2,
        lastVerdict: { decision: 'continue', reasons: ['more to do'], nextFocus: '', scratchpad: '' },
      }),
    });
    expect(text(diffSnapshots(null, a, memory))).toEqual(['cycle 1 started', 'planner c1/planner started: c1/planner']);
    expect(text(diffSnapshots(a, b, memory))).toEqual([
      'planner c1/planner waiting',
      'worker c1/planner/t1 started: Add mean()',
    ]);
    expect(text(diffSnapshots(b, c, memory))).toEqual([
      'cycle 1: publishing',
      'cycle 1 verdict: continue — more to do',
      'planner c1/planner merged: at abcdef1',
      'worker c1/planner/t1 merged: at abcdef1',
    ]);
    expect(text(diffSnapshots(c, d, memory))).toEqual(['cycle 2 started']);
  });

  test('a look without an answer is not a finished agent', () => {
    const memory = newEventMemory();
    const a = snap({ agents: [row('c1/planner', 'planner', 'planning')] });
    expect(diffSnapshots(a, snap({ view: null, viewError: 'deadline exceeded' }), memory)).toEqual([]);
  });
});

describe('limit flags', () => {
  test('one per field of limits, from the schema, with ranges parsed before anything starts', () => {
    expect(LIMIT_FLAGS.map((l) => l.field).sort()).toEqual(Object.keys(limitsSchema.shape).sort());
    const byField = Object.fromEntries(LIMIT_FLAGS.map((l) => [l.field, l]));
    expect(byField.maxParallelAgents.flag).toBe('--max-agents');
    expect(byField.maxTasksPerPlanner.flag).toBe('--max-tasks-per-planner');
    expect(byField.maxCostUsd).toMatchObject({ nullable: true, integer: false });
    expect(parseLimitValue(byField.maxCostUsd)('none')).toBeNull();
    expect(parseLimitValue(byField.maxCostUsd)('2.5')).toBe(2.5);
    expect(parseLimitValue(byField.maxDepth)('0')).toBe(0);
    expect(() => parseLimitValue(byField.maxDepth)('1.5')).toThrow('--max-depth must be a whole number, got "1.5"');
    expect(() => parseLimitValue(byField.workerMaxSteps)('none')).toThrow(
      '--worker-max-steps must be a positive whole number, got "none"',
    );
  });
});
