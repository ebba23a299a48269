import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { testEnv, uniqueTaskQueue } from '../helpers/temporal';
import { cleanEnv, longrun } from './helpers';

/**
 * `longrun run --input-file run.json` plus flags: the file is the JSON `temporal workflow start --input` takes, each
 * flag overrides its field, and what reaches the workflow is the merge. Spawned as a user runs it, against the test
 * dev server, on a task queue no worker polls (the run waits; the test reads its input and terminates it).
 */
describe('longrun run --input-file', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let repo: string;
  let cli: NodeJS.ProcessEnv;
  const taskQueue = uniqueTaskQueue('cli-input-file');

  beforeAll(async () => {
    env = await testEnv();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-input-file-'));
    repo = createSampleRepo(path.join(dir, 'repo'));
    execFileSync('git', ['tag', 'v1', 'HEAD'], { cwd: repo });
    cli = cleanEnv({
      TEMPORAL_ADDRESS: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS,
      LONGRUN_TASK_QUEUE: taskQueue,
      LONGRUN_HOME: path.join(dir, 'home'),
      OPENAI_API_KEY: 'sk-test',
      ANTHROPIC_API_KEY: 'sk-ant-test',
    });
  });
  afterAll(async () => {
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const writeInput = (name: string, input: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(input));
    return file;
  };

  test('flags override base and two limits of the file; the rest of the file reaches the workflow unchanged', async () => {
    const file = writeInput('run.json', {
      repo: './repo', // relative to the file
      goal: 'Add clamp()',
      base: 'HEAD',
      testCommand: 'npm test',
      limits: { maxDepth: 2, maxCycles: 3, workerMaxSteps: 40 },
      guidance: 'Keep it small.',
    });
    const id = `input-file-${Date.now().toString(36)}`;
    const started = await longrun(
      [
        'run',
        '--input-file',
        file,
        '--base',
        'v1',
        '--max-depth',
        '1',
        '--worker-max-steps',
        '7',
        '--id',
        id,
        '--detach',
        '--json',
      ],
      cli,
    );
    expect(started.stderr).not.toContain('problem');
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ runId: id, taskQueue });
    const handle = env.client.workflow.getHandle(id);
    try {
      const history = await handle.fetchHistory();
      const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      expect(defaultPayloadConverter.fromPayload(payload)).toEqual({
        repo,
        goal: 'Add clamp()',
        base: 'v1',
        testCommand: 'npm test',
        limits: { maxDepth: 1, maxCycles: 3, workerMaxSteps: 7 },
        guidance: 'Keep it small.',
      });
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});

describe('longrun run --input-file: mistakes are named by file and field, nothing starts (exit 2)', () => {
  let dir: string;
  let repo: string;
  const env = cleanEnv({
    OPENAI_API_KEY: 'sk-test',
    ANTHROPIC_API_KEY: 'sk-ant-test',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-input-bad-'));
    repo = createSampleRepo(path.join(dir, 'repo'));
    env.LONGRUN_HOME = path.join(dir, 'home');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };

  test('a bad field in the file names the file and the field; a bad flag value names the flag', async () => {
    const file = write(
      'bad.json',
      JSON.stringify({ repo, goal: 'g', limits: { maxDepth: 9, maxCycels: 2 }, colour: 1 }),
    );
    const r = await longrun(['run', '--input-file', file], env);
    expect(r.stderr).toContain(`${file}: limits.maxDepth: Too big: expected number to be <=5`);
    expect(r.stderr).toContain(`${file}: limits: unknown field "maxCycels"`);
    expect(r.stderr).toContain(`${file}: (input): unknown field "colour"`);
    expect(r.code).toBe(2);
    const flag = await longrun(['run', '--input-file', file, '--max-cycles', '0'], env);
    expect(flag.stderr).toContain('--max-cycles must be a positive whole number, got "0"');
    expect(flag.code).toBe(2);
  });

  test('a range problem in a flag that overrides the file names the flag', async () => {
    const file = write('ok.json', JSON.stringify({ repo, goal: 'g' }));
    const r = await longrun(['run', '--input-file', file, '--max-depth', '6'], env);
    expect(r.stderr).toContain('--max-depth: Too big: expected number to be <=5');
    expect(r.stderr).toContain('nothing was started (1 problem)');
    expect(r.code).toBe(2);
  });

  test('a file that is missing, not JSON, or lacks repo and goal', async () => {
    const missing = await longrun(['run', '--input-file', path.join(dir, 'nope.json')], env);
    expect(missing.stderr).toContain(`--input-file: ${path.join(dir, 'nope.json')} does not exist`);
    const notJson = await longrun(['run', '--input-file', write('x.json', '{ repo: ')], env);
    expect(notJson.stderr).toMatch(/--input-file: .*x\.json is not valid JSON/);
    const empty = await longrun(['run', '--input-file', write('e.json', '{}')], env);
    expect(empty.stderr).toContain('--repo: required (or "repo" in --input-file)');
    expect(empty.stderr).toContain('--goal: required (or "goal" in --input-file)');
    for (const r of [missing, notJson, empty]) expect(r.code).toBe(2);
  });
});
