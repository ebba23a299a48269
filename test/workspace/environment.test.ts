import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { executeTool } from '../../src/tools/run';
import { sandboxSettingsFromEnv } from '../../src/tools/sandbox';
import { detectSetupFromNames, envPaths, ignoredTopLevel, withExcludes } from '../../src/workspace/environment';
import { npmProjectFiles } from '../helpers/dep-fixtures';
import { fixture, userGit, type Fixture } from './fixtures';

describe('setup detection (pure)', () => {
  test('the lockfile picks the ecosystem and keys the environment', () => {
    expect(detectSetupFromNames(['package.json', 'package-lock.json', 'README.md'])).toEqual({
      command: 'npm ci --no-audit --no-fund',
      keyFiles: ['package-lock.json', 'package.json'],
      env: {},
      source: 'npm',
    });
    expect(detectSetupFromNames(['pnpm-lock.yaml', 'package.json'])?.source).toBe('pnpm');
    expect(detectSetupFromNames(['yarn.lock'])?.command).toBe('yarn install --frozen-lockfile');
    // uv wins over a requirements.txt exported next to its lockfile.
    expect(detectSetupFromNames(['requirements.txt', 'uv.lock', 'pyproject.toml'])?.source).toBe('uv');
    expect(detectSetupFromNames(['requirements.txt'])?.command).toMatch(/python3 -m venv \.venv/);
    expect(detectSetupFromNames(['poetry.lock'])?.env).toEqual({ POETRY_VIRTUALENVS_IN_PROJECT: 'true' });
    expect(detectSetupFromNames(['go.mod', 'go.sum'])).toMatchObject({
      command: 'go mod download',
      keyFiles: ['go.sum', 'go.mod'],
      env: { GOMODCACHE: '{cache}/gomod', GOPROXY: 'off' },
    });
    expect(detectSetupFromNames(['Cargo.lock', 'Cargo.toml'])?.env.CARGO_HOME).toBe('{cache}/cargo');
    expect(detectSetupFromNames(['pom.xml'])?.source).toBe('maven');
    expect(detectSetupFromNames(['build.gradle.kts'])?.source).toBe('gradle');
    expect(detectSetupFromNames(['package.json', 'README.md'])).toBeNull();
  });

  test('outputs are the top-level ignored entries; excludes are added once', () => {
    const porcelain = '!! node_modules/\n?? new.js\n!! .venv/lib/x\n!! "odd name"\n M a.js\n';
    expect(ignoredTopLevel(porcelain)).toEqual(['.venv', 'node_modules', 'odd name']);
    const once = withExcludes('# comment', ['node_modules']);
    expect(once).toBe("# comment\n# longrun: the run's prepared environment (symlinks)\n/node_modules\n");
    expect(withExcludes(once, ['node_modules'])).toBe(once);
  });
});

describe('a prepared npm environment, shared by workspaces and verification', () => {
  const runId = 'run-env';
  let fx: Fixture;
  let baseCommit: string;

  beforeAll(async () => {
    fx = await fixture(await npmProjectFiles());
    baseCommit = (await fx.acts.prepareHub({ runId, repo: fx.repo })).baseCommit;
  });
  afterAll(() => fx.cleanup());

  const keys = async () =>
    (await fs.readdir(envPaths.run(fx.home, runId))).filter((name) => /^[0-9a-f]{20}$/.test(name));

  test('setup is detected from package-lock.json, runs once, and every checkout gets node_modules', async () => {
    const env = await fx.acts.prepareEnvironment({ runId, commit: baseCommit });
    expect(env).toMatchObject({ command: 'npm ci --no-audit --no-fund', source: 'npm' });
    expect(await fs.readFile(env.log!, 'utf8')).toMatch(/^\$ npm ci/);
    const [a, b] = await Promise.all([
      fx.acts.openWorkspace({ runId, taskId: 'a' }),
      fx.acts.openWorkspace({ runId, taskId: 'b' }),
    ]);
    expect(await keys()).toEqual([env.key]); // one install for both
    for (const ws of [a, b]) {
      expect((await fs.lstat(path.join(ws.path, 'node_modules'))).isSymbolicLink()).toBe(true);
      expect(await userGit(ws.path, 'status', '--porcelain')).toBe(''); // the link is not work to commit
    }
    // The agent's command, in its sandbox (no network), sees the dependency.
    const sandbox = sandboxSettingsFromEnv({});
    await fs.writeFile(
      path.join(a.path, 'triple.test.js'),
      "const test = require('node:test');\nconst assert = require('node:assert');\n" +
        "const isNumber = require('tiny-number');\ntest('dep', () => assert.ok(isNumber(3)));\n",
    );
    const ref = { path: a.path, readOnly: false };
    const ran = await executeTool('run_command', { command: 'npm test' }, ref, { sandbox });
    expect(ran.content).toMatch(/sandboxed/);
    expect(ran.ok).toBe(true);
    // ...and cannot write the shared install.
    const write = await executeTool('run_command', { command: 'touch node_modules/x' }, ref, { sandbox });
    expect(write.ok).toBe(false);

    await fx.acts.checkpointWorkspace({ runId, taskId: 'a', message: 'test' });
    expect(
      await userGit(
        fx.home,
        '-C',
        (await fx.acts.prepareHub({ runId, repo: fx.repo })).hubPath,
        'ls-tree',
        '--name-only',
        '-r',
        'task/a',
      ),
    ).not.toMatch(/node_modules/);

    const receipt = await fx.acts.verifyTarget({ runId, testCommand: 'npm test' });
    expect(receipt).toMatchObject({ passed: true, exitCode: 0 });
    expect(await keys()).toEqual([env.key]);
  });

  test('a lockfile changed on a task branch gets its own environment, for that checkout only', async () => {
    const ws = await fx.acts.openWorkspace({ runId, taskId: 'c' });
    const lock = path.join(ws.path, 'package-lock.json');
    await fs.writeFile(lock, (await fs.readFile(lock, 'utf8')).replace('"name": "calc"', '"name": "calc2"'));
    const ran = await executeTool(
      'run_command',
      { command: 'true' },
      { path: ws.path, readOnly: false },
      { sandbox: sandboxSettingsFromEnv({}) },
    );
    expect(ran.content).toMatch(/package-lock\.json, package\.json changed .*prepare_environment/);
    const before = await keys();
    await fx.acts.prepareWorkspaceEnvironment({ runId, taskId: 'c' });
    const after = await keys();
    expect(after).toHaveLength(before.length + 1);
    // Set up from the workspace's lockfile as it is now (not yet committed), not the commit's.
    const added = after.find((key) => !before.includes(key))!;
    expect(await fs.readFile(path.join(envPaths.key(fx.home, runId, added), 'work', 'package-lock.json'), 'utf8')).toBe(
      await fs.readFile(lock, 'utf8'),
    );
    const other = await fx.acts.openWorkspace({ runId, taskId: 'a' });
    expect(await fs.readlink(path.join(other.path, 'node_modules'))).toContain(before[0]);
    expect(await fs.readlink(path.join(ws.path, 'node_modules'))).not.toContain(before[0]);
  });
});

describe('a failing setup', () => {
  test('stops with the command, exit code and output tail', async () => {
    const fx = await fixture({ 'README.md': '# demo\n' });
    try {
      const { baseCommit } = await fx.acts.prepareHub({ runId: 'run-bad', repo: fx.repo });
      const failed = fx.acts.prepareEnvironment({
        runId: 'run-bad',
        commit: baseCommit,
        setup: 'echo installing; echo "no such package" >&2; exit 3',
      });
      await expect(failed).rejects.toMatchObject({ type: 'SetupFailed', nonRetryable: true });
      await expect(failed).rejects.toThrow(
        /setup `echo installing.*` \(the run's "setup"\) failed: exit 3[\s\S]*no such package/,
      );
    } finally {
      await fx.cleanup();
    }
  });
});
