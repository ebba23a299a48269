/**
 * `longrun demo [--json] [--keep]` — a real run with zero configuration and no API key, against a SIMULATED model.
 *
 * Creates a small Node project with a failing test in a temp dir, starts the model simulator in-process with the
 * scripted team scenario (it plays the root planner, a sub-planner, the workers — who hit and resolve real merge
 * conflicts — and a judge that continues once, then finishes), reuses the Temporal server at TEMPORAL_ADDRESS if
 * one answers or starts the embedded dev server, runs a longrun worker in this process on its own task queue, and
 * runs `autonomousRun` to completion while showing the live tree. Then it prints where to look: the Web UI, the
 * sample repository and its result branch longrun/<id>.
 *
 * State goes to a demo-only LONGRUN_HOME under the temp dir (unless LONGRUN_HOME is set), so yours is untouched.
 * A dev server the demo started is stopped at the end, unless --keep (then it keeps running for the Web UI, and
 * the demo says how to stop it). The sample repository is kept for you to inspect; the demo prints its path.
 *
 * --json prints only this object when the run ends (progress goes nowhere):
 *   { "runId": string, "status": "done" | "stopped" | "budget_exhausted" | "max_cycles" | "failed",
 *     "repoPath": string, "resultBranch": string, "tasks": { "merged": number, "failed": number },
 *     "cycles": number, "costUsd": number }          // costUsd: priced as if the simulated calls were real
 *
 * Exit codes: 0 the demo run completed (any outcome it chose); 1 it failed or was interrupted (Ctrl-C).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { createSampleRepo } from '../../demo/sample-repo';
import { teamScenario } from '../../demo/team-scenario';
import { startSimulator, type Simulator } from '../../sim';
import { workerSettings } from '../../workers/options';
import { installRuntime } from '../../workers/runtime';
import { createWorkers, type LongrunWorkers } from '../../workers/worker';
import type { RunInput } from '../../core/schemas';
import { describeSandbox, sandboxSettingsFromEnv } from '../../tools/sandbox';
import { connect, targetFrom, uiLink, type Connected } from '../lib/client';
import { EXIT, interruptSignal, printJson, stdoutStyle } from '../lib/command';
import { defaultRunId } from '../lib/run-input';
import { startRun } from '../lib/start';
import { watchRun, type WatchEnd } from '../lib/watch';
import { ensureTemporal, type DevEnvironment } from './dev';

/** Real model names (so the price table applies) on both SDKs; the simulator answers them all. Not deprecated ones:
 * the Anthropic SDK warns on every call to those. */
export const DEMO_MODELS = {
  planner: { provider: 'openai', model: 'gpt-5' },
  subplanner: { provider: 'openai', model: 'gpt-5-mini' },
  worker: { provider: 'anthropic', model: 'claude-haiku-4-5' },
  judge: { provider: 'anthropic', model: 'claude-sonnet-4-6' },
  compactor: { provider: 'openai', model: 'gpt-5-mini' },
} as const;

export const DEMO_GOAL = 'Fix the failing test, add clamp, mean, max and geometry helpers, and document the library.';

export interface DemoJson {
  runId: string;
  status: string;
  repoPath: string;
  resultBranch: string;
  tasks: { merged: number; failed: number };
  cycles: number;
  costUsd: number;
}

interface DemoOptions {
  json?: boolean;
  keep?: boolean;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a whole team of agents on a sample repo against a SIMULATED model: no API key, about a minute.')
    .option('--json', 'print only the final summary as JSON (see the top of src/cli/commands/demo.ts)')
    .option('--keep', 'keep the Temporal dev server running afterwards (if the demo started it), for the Web UI')
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const style = stdoutStyle();
  const say = opts.json ? () => undefined : (line = '') => console.log(line);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-demo-'));
  const repo = createSampleRepo(path.join(tmp, 'calc'));
  const home = process.env.LONGRUN_HOME || path.join(tmp, 'home');
  const runId = defaultRunId().replace(/^run-/, 'demo-');
  say(
    style.yellow(
      style.bold(
        'longrun demo — SIMULATED MODEL: a scripted simulator plays every agent; no API key, no real LLM is used.',
      ),
    ),
  );
  say(`Sample repository (a tiny Node library with a failing test): ${repo}`);

  let sim: Simulator | null = null;
  let dev: DevEnvironment | null = null;
  let workers: LongrunWorkers | null = null;
  let running: Promise<void> | null = null;
  let c: Connected | null = null;
  let keptServer = false;
  const interrupt = interruptSignal();
  try {
    sim = await startSimulator({ scenario: teamScenario() });
    // SDK chatter (e.g. the host queue's "no workflows registered") would drown the tree: errors only, unless asked.
    const baseEnv: NodeJS.ProcessEnv = {
      ...process.env,
      LONGRUN_HOME: home,
      LONGRUN_LOG_LEVEL: process.env.LONGRUN_LOG_LEVEL || 'ERROR',
    };
    dev = await ensureTemporal({ port: 7233, uiPort: 8233, ip: '127.0.0.1' }, baseEnv, (m) => say(style.dim(m)));
    // Its own task queue: a worker of yours on "longrun" (with real keys) must never pick up the demo's work.
    const workerEnv: NodeJS.ProcessEnv = {
      ...baseEnv,
      ...sim.env,
      TEMPORAL_ADDRESS: dev.address,
      LONGRUN_TASK_QUEUE: `longrun-${runId}`,
      ...(await demoSandbox(say, style.dim)),
    };
    installRuntime(workerEnv);
    say(
      style.dim(
        `[demo] simulated model API at ${sim.url}; starting a worker (bundling the workflows takes a few seconds)…`,
      ),
    );
    workers = await createWorkers(workerSettings(workerEnv), { env: workerEnv });
    running = workers.run();

    const target = { ...targetFrom(workerEnv), ...(dev.uiUrl ? { uiUrl: dev.uiUrl } : {}) };
    c = await connect(workerEnv, target);
    const input: RunInput = {
      repo,
      goal: DEMO_GOAL,
      testCommand: 'node test.js',
      models: DEMO_MODELS,
      limits: { maxParallelAgents: 3, maxCycles: 4, maxDepth: 1 },
    };
    await startRun(c, runId, input, target.taskQueue);
    say(`Started run ${style.bold(runId)} — Web UI: ${uiLink(target, runId)}`);
    say();
    const end: WatchEnd = await watchRun(c, runId, {
      out: process.stdout,
      style,
      live: !!process.stdout.isTTY && !opts.json,
      quiet: opts.json,
      signal: interrupt.signal,
    });
    if (end.kind === 'detached') {
      // The worker lives in this process: the run cannot go on without it.
      await c.client.workflow
        .getHandle(runId)
        .terminate('demo interrupted (Ctrl-C)')
        .catch(() => undefined);
      console.error('\nDemo interrupted: the run was terminated.');
      process.exitCode = EXIT.failed;
      return;
    }
    const rep = end.report;
    if (opts.json) {
      const out: DemoJson = {
        runId,
        status: rep.status,
        repoPath: repo,
        resultBranch: rep.resultBranch,
        tasks: { merged: rep.tasks.merged, failed: rep.tasks.failed },
        cycles: rep.cycles,
        costUsd: rep.costUsd,
      };
      printJson(out);
    }
    keptServer = !!(opts.keep && dev.server);
    say();
    say(style.bold('Where to look') + style.dim(' (costs are what the simulated calls would have cost)'));
    say(`  the result:   git -C ${repo} log --oneline --graph ${rep.resultBranch}`);
    say(`  the changes:  git -C ${repo} diff --stat main ${rep.resultBranch}`);
    say(
      `  the report:   ${dev.server && !keptServer ? '(needs the server: run `longrun demo --keep`)' : `longrun report ${runId}`}`,
    );
    if (!dev.server || keptServer) say(`  the Web UI:   ${uiLink(target, runId)}`);
    else
      say('  the Web UI:   the demo stops its dev server now; run `longrun demo --keep` to browse the run afterwards');
    if (keptServer) {
      say(
        `  The Temporal dev server keeps running (pid ${dev.server!.pid}, state in ${home}); stop it with: kill ${dev.server!.pid}`,
      );
    }
    say(`  clean up:     rm -rf ${tmp}`);
    process.exitCode = end.exitCode;
  } finally {
    interrupt.dispose();
    await c?.close().catch(() => undefined);
    if (workers && running) {
      workers.shutdown();
      await running.catch(() => undefined);
    }
    await sim?.close();
    if (dev?.server && !keptServer) await dev.server.stop();
    if (keptServer) {
      // The kept server is our child: exit explicitly (after stdout drains) instead of waiting for it.
      const code = Number(process.exitCode ?? 0);
      process.stdout.write('', () => process.exit(code));
    }
  }
}

/**
 * The demo's agents are scripted (they run `node test.js` on the sample repository), so where bubblewrap does not
 * work the demo opts in to unsandboxed commands (LONGRUN_SANDBOX=off), and says so; a LONGRUN_SANDBOX you set wins.
 */
async function demoSandbox(say: (line?: string) => void, dim: (s: string) => string): Promise<NodeJS.ProcessEnv> {
  if (process.env.LONGRUN_SANDBOX?.trim()) return {};
  const sandbox = await describeSandbox(sandboxSettingsFromEnv({}), process.env.PATH);
  if (sandbox.ok) return {};
  say(
    dim(
      '[demo] bubblewrap does not work here, so the scripted agents of the demo run their commands unsandboxed ' +
        '(LONGRUN_SANDBOX=off). Your own runs refuse to start without bubblewrap unless you set LONGRUN_SANDBOX=off.',
    ),
  );
  return { LONGRUN_SANDBOX: 'off' };
}
