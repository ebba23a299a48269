/**
 * There is no Docker engine here, so this builds what docker/Dockerfile builds, laid out as the image lays it out
 * (/app/dist from `npm run build`'s tsconfig, /app/prompts, /app/sim, /app/bin, package.json), and runs the image's
 * CMD — `node dist/workers/main.js` from /app — as a real child process against the test dev server. A full run
 * (simulated models) completing proves the compiled worker finds its workflows, activities and prompts.
 */
import { execFileSync, execSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import { startSimulator, type Simulator } from '../../src/sim';
import type { RunResult } from '../../src/workflows/definitions';
import { TEST_MODELS } from '../helpers/harness';
import { temporalCli, testEnv, uniqueTaskQueue } from '../helpers/temporal';
import { dockerfile, ROOT } from './files';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Every file under dir, relative. */
function walk(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full)];
  });
}

/** The package a bare specifier names: "@scope/name/sub" → "@scope/name", "name/sub" → "name". */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('the worker image layout (Dockerfile build + CMD, without Docker)', () => {
  let app: string;
  let env: TestWorkflowEnvironment;
  let sim: Simulator | undefined;
  let worker: ChildProcess | undefined;
  let workerLog = '';
  const cleanup: string[] = [];
  let imageHome = '';
  /** A path inside the image → the same path in this test's layout. */
  const imagePath = (p: string) =>
    p.replace(/^\/app(?=\/|$)/, app).replace(/^\/var\/lib\/longrun(?=\/|$)/, imageHome || '/var/lib/longrun');

  beforeAll(async () => {
    env = await testEnv();
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-image-'));
    cleanup.push(app);
    // The build stage: `npm run build` is `tsc -p tsconfig.build.json`; only its output directory differs.
    execFileSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        path.join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        path.join(app, 'dist'),
      ],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
    // The runtime stage's COPY lines.
    for (const src of dockerfile().runtimeCopies) {
      fs.cpSync(path.join(ROOT, src), path.join(app, src), { recursive: true });
    }
    // npm ci --omit=dev: the project's node_modules stands in (the dependency scan below keeps us honest).
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
    // The build stage's other RUN lines after `npm run build` (the prebuilt workflow bundle), as written.
    const runs = dockerfile()
      .build.instructions.filter((i) => i.op === 'RUN')
      .map((i) => i.args);
    for (const line of runs.slice(runs.indexOf('npm run build') + 1)) execSync(line, { cwd: app, stdio: 'pipe' });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await sim?.close();
    await env?.teardown();
    for (const dir of cleanup) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('emits the CMD file and everything the worker loads at run time', () => {
    const cmd = dockerfile().cmd;
    expect(cmd).toEqual(['node', 'dist/workers/main.js']);
    expect(fs.existsSync(path.join(app, cmd[1]))).toBe(true);
    // src/workers/worker.ts: require.resolve('../workflows') from dist/workers.
    expect(require.resolve(path.join(app, 'dist', 'workflows'))).toBe(path.join(app, 'dist', 'workflows', 'index.js'));
    // The prebuilt bundle the image points the worker at.
    expect(fs.statSync(imagePath(dockerfile().env.LONGRUN_WORKFLOW_BUNDLE)).size).toBeGreaterThan(100_000);
    // src/prompts/load.ts: path.resolve(__dirname, '..', '..', 'prompts') from dist/prompts.
    const { promptsDir, PROMPT_NAMES } = require(
      path.join(app, 'dist', 'prompts', 'load.js'),
    ) as typeof import('../../src/prompts/load');
    expect(promptsDir({})).toBe(path.join(app, 'prompts'));
    for (const name of PROMPT_NAMES) expect(fs.existsSync(path.join(app, 'prompts', `${name}.md`))).toBe(true);
  });

  it('requires only Node built-ins and production dependencies (the image runs `npm ci --omit=dev`)', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const bare = new Set<string>();
    for (const file of walk(path.join(app, 'dist')).filter((f) => f.endsWith('.js'))) {
      const code = fs.readFileSync(path.join(app, 'dist', file), 'utf8');
      for (const m of code.matchAll(/require\("([^"]+)"\)/g)) {
        if (!m[1].startsWith('.') && !builtins.has(m[1])) bare.add(packageOf(m[1]));
      }
    }
    expect(bare.size).toBeGreaterThan(3);
    const missing = [...bare].filter((name) => !(name in pkg.dependencies));
    expect(missing).toEqual([]);
  });

  it('runs the CMD from /app as a separate process and completes a full run on it', async () => {
    sim = await startSimulator({ scenario: teamScenario() });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-image-home-'));
    const repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-image-repo-')));
    cleanup.push(home, repo);
    imageHome = home;
    const taskQueue = uniqueTaskQueue('image');
    const [node, main] = dockerfile().cmd;
    expect(node).toBe('node');
    worker = spawn(process.execPath, [main], {
      cwd: app, // WORKDIR /app
      env: {
        // The image's ENV lines, with /app and the state volume mapped to this test's directories.
        ...Object.fromEntries(Object.entries(dockerfile().env).map(([k, v]) => [k, imagePath(v)])),
        PATH: process.env.PATH,
        HOME: home,
        ...sim.env,
        OPENAI_API_KEY: 'sk-test-openai-0123456789',
        ANTHROPIC_API_KEY: 'sk-ant-test-0123456789',
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: 'default',
        LONGRUN_HOME: home,
        LONGRUN_TASK_QUEUE: taskQueue,
        LONGRUN_SANDBOX: 'off',
        LONGRUN_LOG_LEVEL: 'INFO', // so a bundling at start would show
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));

    const runId = `image-${Date.now().toString(36)}`;
    const input = {
      repo,
      goal: 'Fix the failing test and add helpers.',
      testCommand: 'node test.js',
      models: TEST_MODELS,
      limits: { maxParallelAgents: 3, maxDepth: 1 },
    };
    execFileSync(temporalCli(), [
      'workflow',
      'start',
      '--address',
      env.address,
      '--task-queue',
      taskQueue,
      '--type',
      'autonomousRun',
      '--workflow-id',
      runId,
      '--input',
      JSON.stringify(input),
    ]);
    let result: RunResult;
    try {
      result = await env.client.workflow.getHandle(runId).result();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- worker output ---\n${workerLog}`);
    }
    expect(result.status).toBe('done');
    expect(result.tasks.merged).toBeGreaterThan(0);
    expect(
      execFileSync('git', ['rev-parse', '--verify', `longrun/${runId}`], { cwd: repo, encoding: 'utf8' }).trim(),
    ).toMatch(/^[0-9a-f]{40}$/);
    // The worker announced its host-affine queue: the shared queue name + '@' + hostname.
    expect(workerLog).toContain(`hostQueue=${taskQueue}@${os.hostname()}`);
    expect(workerLog).toContain(`home=${home}`);
    // It loaded the image's prebuilt bundle instead of bundling the workflows at start.
    expect(workerLog).not.toContain('Workflow bundle created');
  });
});
