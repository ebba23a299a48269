import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DemoJson } from '../../src/cli/commands/demo';
import { cleanEnv, longrun } from './helpers';

/**
 * `longrun demo --json` as a user runs it, with no API key in the environment: it reuses the test dev server
 * (TEMPORAL_ADDRESS answers), runs a worker in its own process against the simulated team, and prints one JSON
 * object. The result branch in the sample repository it created holds the merged work.
 */
describe('longrun demo', () => {
  let repoPath: string | null = null;
  afterAll(() => {
    // The demo keeps its temp dir (sample repo + state dir) for the user to look at; the test removes it.
    if (repoPath) fs.rmSync(path.dirname(repoPath), { recursive: true, force: true });
  });

  test('demo --json completes with status "done" and a result branch containing the merged work', async () => {
    const env = cleanEnv({ TEMPORAL_ADDRESS: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS });
    const r = await longrun(['demo', '--json'], env, 300_000);
    if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    let out: DemoJson;
    try {
      out = JSON.parse(r.stdout) as DemoJson; // stdout holds the JSON document and nothing else
    } catch (err) {
      throw new Error(`stdout is not one JSON document (${String(err)}):\n${r.stdout}`);
    }
    repoPath = out.repoPath;
    expect(Object.keys(out).sort()).toEqual([
      'costUsd',
      'cycles',
      'repoPath',
      'resultBranch',
      'runId',
      'status',
      'tasks',
    ]);
    expect(out.status).toBe('done');
    expect(out.runId).toMatch(/^demo-\d{8}-\d{6}-[a-z0-9]{4}$/);
    expect(out.resultBranch).toBe(`longrun/${out.runId}`);
    expect(out.cycles).toBe(2);
    expect(out.tasks.merged).toBeGreaterThanOrEqual(5);
    expect(out.costUsd).toBeGreaterThan(0);
    expect(path.basename(out.repoPath)).toBe('calc');
    // The demo's state went to its own LONGRUN_HOME beside the sample repo, not to the user's.
    expect(fs.existsSync(path.join(path.dirname(out.repoPath), 'home'))).toBe(true);

    const git = (...args: string[]) => execFileSync('git', args, { cwd: out.repoPath, encoding: 'utf8' });
    expect(git('rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
    const files = git('ls-tree', '-r', '--name-only', out.resultBranch).split('\n');
    for (const f of ['lib/clamp.js', 'lib/mean.js', 'lib/max.js', 'tests/clamp.test.js']) expect(files).toContain(f);
    expect(git('show', `${out.resultBranch}:lib/math.js`)).toContain('a - b');
    expect(git('show', `${out.resultBranch}:CHANGELOG.md`)).not.toMatch(/<<<<<<<|>>>>>>>/);
    const merges = git('log', '--first-parent', '--format=%(trailers:key=Longrun-Task,valueonly)', out.resultBranch)
      .split('\n')
      .filter(Boolean);
    expect(merges.length).toBe(out.tasks.merged);
    // The sample's tests pass on the result branch.
    const check = path.join(path.dirname(out.repoPath), 'check');
    git('worktree', 'add', '--quiet', check, out.resultBranch);
    expect(() => execFileSync('node', ['test.js'], { cwd: check, stdio: 'pipe' })).not.toThrow();
  }, 320_000);
});
