import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CHECK_JS,
  decideAfterTests,
  failingFiles,
  greenTeam,
  newTeamLog,
  pileOnPerBreak,
  traitsOf,
  type GreenTeamOptions,
} from '../../bench/lib/green-team';
import type { SimMessage, SimRequest } from '../../src/sim/types';

/** The green-branch bench's stochastic team, its pure parts: seeded traits, the pile-on decision and count. */
const opts: GreenTeamOptions = {
  seed: 15,
  tasks: 400,
  pBreak: 0.05,
  pLoop: 0.05,
  pSkipTests: 0.1,
  pPileOn: 0.5,
  plannerFixes: true,
  readTurns: 0,
};

function request(system: string, messages: SimMessage[]): SimRequest {
  const text = [system, ...messages.map((m) => m.text)].join('\n');
  return {
    index: 0,
    api: 'anthropic',
    path: '/v1/messages',
    model: 'm',
    turn: messages.filter((m) => m.role === 'assistant').length,
    system,
    messages,
    text,
    lastText: messages.at(-1)?.text ?? '',
    tools: [],
    body: {},
  };
}

describe('green-branch bench team', () => {
  it('draws the same traits from the same seed, others from another, at about the asked rates', () => {
    const all = (seed: number) => Array.from({ length: opts.tasks }, (_, i) => traitsOf({ ...opts, seed }, i + 1));
    expect(all(15)).toEqual(all(15));
    expect(all(16)).not.toEqual(all(15));
    const share = (k: 'breaks' | 'loops' | 'skipsTests') => all(15).filter((t) => t[k]).length / opts.tasks;
    expect(share('breaks')).toBeGreaterThan(0.02);
    expect(share('breaks')).toBeLessThan(0.09);
    expect(share('loops')).toBeGreaterThan(0.02);
    expect(share('skipsTests')).toBeGreaterThan(0.05);
    expect(all(15).every((t) => !(t.loops && t.breaks))).toBe(true);
  });

  it('check.js fails naming each file that contains BROKEN, and the team reads those names back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-green-team-'));
    try {
      fs.mkdirSync(path.join(dir, 'work'));
      fs.writeFileSync(path.join(dir, 'check.js'), CHECK_JS);
      fs.writeFileSync(path.join(dir, 'work', 't1.txt'), 'ok\n');
      expect(execFileSync('node', ['check.js'], { cwd: dir, encoding: 'utf8' })).toContain('ok 1 files');
      fs.writeFileSync(path.join(dir, 'work', 't2.txt'), 'BROKEN by t2\n');
      let output = '';
      try {
        execFileSync('node', ['check.js'], { cwd: dir, encoding: 'utf8' });
      } catch (err) {
        output = (err as { stdout: string }).stdout;
      }
      expect(failingFiles(output)).toEqual(['work/t2.txt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('piles on a break it did not cause only when the result does not say the break is known and owned', () => {
    const failing = 'exit 1\nFAIL work/t3.txt: contains BROKEN\n';
    expect(decideAfterTests('work/t9.txt', failing, true)).toEqual({ kind: 'pile-on', files: ['work/t3.txt'] });
    expect(decideAfterTests('work/t9.txt', failing, false)).toMatchObject({ kind: 'held-back', why: 'trait' });
    const noted = `${failing}\n[longrun: the target is known red: \`node check.js\` fails there since abc, ...]`;
    expect(decideAfterTests('work/t9.txt', noted, true)).toMatchObject({ kind: 'held-back', why: 'known-red' });
    // Its own break is not someone else's.
    expect(decideAfterTests('work/t3.txt', failing, true)).toEqual({ kind: 'clean' });
  });

  it('counts, per break, the agents that wrote the broken file other than its author and the fixers', () => {
    const writes = new Map([
      ['t3', { files: new Set(['work/t3.txt']), fixer: false }],
      ['t5', { files: new Set(['work/t5.txt', 'work/t3.txt']), fixer: false }],
      ['t6', { files: new Set(['work/t6.txt', 'work/t3.txt', 'work/t7.txt']), fixer: false }],
      ['Fix break abc', { files: new Set(['work/t3.txt', 'work/t7.txt']), fixer: true }],
      ['t7', { files: new Set(['work/t7.txt']), fixer: false }],
    ]);
    const breaks = [
      { agent: 't3', file: 'work/t3.txt' },
      { agent: 't7', file: 'work/t7.txt' },
    ];
    expect(pileOnPerBreak(writes, breaks).map((b) => b.pileOn)).toEqual([['t5', 't6'], ['t6']]);
  });

  it('answers a worker from the seed and the request: the tool result decides the pile-on', () => {
    const broken = Array.from({ length: 400 }, (_, i) => i + 1).find((k) => {
      const t = traitsOf(opts, k);
      return t.pilesOn && !t.loops && !t.skipsTests;
    })!;
    const log = newTeamLog();
    const team = greenTeam(
      () => opts,
      () => log,
    );
    const system = 'You are a senior software engineer.';
    const task = `# Your task: Bench task c1 s0 t${broken}`;
    const ran = (result: string) =>
      request(system, [
        { role: 'user', text: task },
        { role: 'assistant', text: '', toolCalls: [{ id: '1', name: 'write_file', arguments: {} }] },
        { role: 'tool', text: 'ok', toolCallId: '1' },
        { role: 'assistant', text: '', toolCalls: [{ id: '2', name: 'run_command', arguments: {} }] },
        { role: 'tool', text: result, toolCallId: '2' },
      ]);
    const failing = 'exit 1\nFAIL work/t999.txt: contains BROKEN';
    const calls = (r: ReturnType<typeof team>) => r?.toolCalls?.map((c) => [c.name, c.arguments]);
    const first = team(ran(failing));
    expect(calls(team(ran(failing)))).toEqual(calls(first)); // same request, same answer (ids aside)
    expect(first?.toolCalls?.map((c) => [c.name, (c.arguments as { path: string }).path])).toEqual([
      ['write_file', 'work/t999.txt'],
    ]);
    const told = team(ran(`${failing}\n[longrun: the target is known red: since abc]`));
    expect(told?.toolCalls?.map((c) => c.name)).toEqual(['finish']);
    expect(log.writes.get(`Bench task c1 s0 t${broken}`)?.files.has('work/t999.txt')).toBe(true);
  });
});
