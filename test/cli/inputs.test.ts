import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildProgram } from '../../src/cli/main';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { cleanEnv, longrun } from './helpers';

/**
 * `longrun run` checks its input before anything starts: each mistake is named on stderr, the exit code is 2, and
 * no Temporal server is needed (TEMPORAL_ADDRESS points at a port nothing listens on).
 */
describe('longrun run: bad input is refused locally with exit code 2', () => {
  let dir: string;
  let repo: string;
  const keys = { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test' };
  // Nothing listens here: if validation let a mistake through, the command would fail differently (exit 1).
  const env = cleanEnv({ ...keys, TEMPORAL_ADDRESS: '127.0.0.1:1', LONGRUN_HOME: '' });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-inputs-'));
    repo = createSampleRepo(path.join(dir, 'repo'));
    fs.mkdirSync(path.join(dir, 'plain'));
    env.LONGRUN_HOME = path.join(dir, 'home');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[], e = env) => longrun(['run', ...args], e);

  test('a repository that does not exist', async () => {
    const r = await run(['--repo', path.join(dir, 'missing'), '--goal', 'Add a feature']);
    expect(r.stderr).toContain(`longrun run: --repo: ${path.join(dir, 'missing')} does not exist`);
    expect(r.stderr).toContain('nothing was started (1 problem)');
    expect(r.code).toBe(2);
  });

  test('a directory that is not a git repository', async () => {
    const r = await run(['--repo', path.join(dir, 'plain'), '--goal', 'Add a feature']);
    expect(r.stderr).toContain(`--repo: ${path.join(dir, 'plain')} is not a git repository`);
    expect(r.code).toBe(2);
  });

  test('an empty goal', async () => {
    const r = await run(['--repo', repo, '--goal', '   ']);
    expect(r.stderr).toContain('longrun run: --goal: must describe what the run should achieve');
    expect(r.code).toBe(2);
  });

  test('an unknown role in --model', async () => {
    const r = await run(['--repo', repo, '--goal', 'Add a feature', '--model', 'architect=openai:gpt-5']);
    expect(r.stderr).toContain(
      "--model: unknown role 'architect'; roles are planner, subplanner, worker, judge, compactor",
    );
    expect(r.code).toBe(2);
  });

  test('a missing API key for the configured provider', async () => {
    const noKeys = cleanEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1', LONGRUN_HOME: env.LONGRUN_HOME });
    const r = await run(['--repo', repo, '--goal', 'Add a feature', '--model', 'worker=openai:gpt-5-mini'], noKeys);
    expect(r.stderr).toMatch(/role worker uses provider openai but OPENAI_API_KEY is not set/);
    expect(r.stderr).toMatch(/provider anthropic but ANTHROPIC_API_KEY is not set/);
    expect(r.stderr).toContain('--model ROLE=provider:model');
    expect(r.code).toBe(2);
  });

  test('every problem is reported at once, and bad numbers and ids are usage errors too', async () => {
    const r = await run([
      '--repo',
      path.join(dir, 'plain'),
      '--goal',
      '',
      '--model',
      'worker=nope:x',
      '--id',
      'bad id',
    ]);
    expect(r.stderr).toContain("--model: unknown provider 'nope'");
    expect(r.stderr).toContain('--id "bad id": becomes a git branch name');
    expect(r.stderr).toContain('--goal:');
    expect(r.code).toBe(2);
    const n = await run(['--repo', repo, '--goal', 'x', '--max-cycles', 'many']);
    expect(n.stderr).toContain('--max-cycles must be a positive whole number, got "many"');
    expect(n.code).toBe(2);
    const missing = await run(['--goal', 'x']);
    expect(missing.stderr).toContain('--repo: required (or "repo" in --input-file)');
    expect(missing.code).toBe(2);
  });

  test('--help works on every command and exits 0', async () => {
    const r = await longrun(['run', '--help'], env);
    expect(r.stdout).toContain('Usage: longrun run [options]');
    expect(r.stdout).toContain('--model <role=provider:model>');
    expect(r.code).toBe(0);
    // The rest in-process (each spawn costs a couple of seconds of start-up).
    const program = buildProgram();
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(
      expect.arrayContaining(['run', 'watch', 'status', 'stop', 'pause', 'resume', 'replan', 'list', 'report', 'demo']),
    );
    for (const cmd of program.commands) {
      expect(cmd.description().length).toBeGreaterThan(10);
      expect(cmd.helpInformation()).toContain(`Usage: longrun ${cmd.name()}`);
    }
  });

  test('replan needs non-empty guidance', async () => {
    const r = await longrun(['replan', 'some-run', '--guidance', ' '], env);
    expect(r.stderr).toContain('--guidance must not be empty');
    expect(r.code).toBe(2);
  });

  test('commands that need Temporal say how to reach it when nothing answers (exit 1)', async () => {
    const r = await longrun(['status', 'some-run'], env);
    expect(r.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(r.stderr).toContain('longrun dev');
    expect(r.code).toBe(1);
  });
});
