/**
 * `longrun run` — check a run's input locally, start `autonomousRun`, and watch it.
 *
 *   longrun run --repo PATH|URL --goal TEXT [--input-file run.json] [--base REF] [--test-cmd CMD] [--setup CMD]
 *               [--model ROLE=provider:model …] [--guidance TEXT] [--model-calls activity|local]
 *               [--merge-policy merge-clean|tests-pass]
 *               [--max-agents N] [--max-depth N] [--max-tasks-per-planner N] [--max-cycles N] [--max-cost-usd X|none] …
 *               [--id ID] [--detach] [--json] [--no-key-check]
 *
 * --input-file takes the JSON that `temporal workflow start --input` takes; every flag given overrides its field
 * (`limits` and `models` merge field by field). There is a flag for every field of `limits`, made from its schema.
 *
 * Everything is checked before anything starts (the repository exists and is a git repository's root with a
 * commit, the goal is not empty, --model names known roles and providers, the providers' API keys are set, the
 * limits are in range); each problem is printed on stderr as "longrun run: <problem>" and the exit code is 2.
 * When TEMPORAL_ADDRESS is unset (or the local default) and nothing answers, `longrun dev` (the embedded Temporal
 * dev server and a worker) is started in the background, logging to $LONGRUN_HOME/dev.log.
 * The run id defaults to run-<yyyymmdd-hhmmss>-<4 random>; the result lands on branch longrun/<id> of the repository.
 *
 * --json with --detach prints, once the run has started:
 *   { "runId": string, "workflowRunId": string, "namespace": string, "taskQueue": string, "uiUrl": string }
 * --json without --detach watches quietly and prints the `longrun report --json` document when the run ends.
 *
 * Exit codes: 0 started (--detach), detached with Ctrl-C, or the run ended done / stopped / budget_exhausted /
 * max_cycles; 1 the workflow failed, or Temporal could not be reached; 2 a usage error (nothing was started).
 */
import { Option, type Command } from 'commander';
import { runInputProblems } from '../../activities/run';
import { serverAnswers } from '../../dev/dev-server';
import { startBackgroundDev } from '../lib/background';
import { connect, targetFrom, uiLink, workerPolling } from '../lib/client';
import { collect, EXIT, printJson, stdoutStyle } from '../lib/command';
import {
  buildRunInput,
  defaultRunId,
  LIMIT_FLAGS,
  parseLimitValue,
  problemForFlags,
  type RunFlags,
} from '../lib/run-input';
import { startRun } from '../lib/start';
import { followRun } from './watch';

interface RunOptions extends RunFlags {
  id?: string;
  detach?: boolean;
  json?: boolean;
  keyCheck: boolean;
}

/** Placeholder keys for --no-key-check: the run's first activity checks the real ones on the worker. */
const UNCHECKED_KEYS = { OPENAI_API_KEY: 'unchecked', ANTHROPIC_API_KEY: 'unchecked' };

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description('Start an autonomous run on a repository and watch it (Ctrl-C detaches; the run goes on).')
    .option('--repo <path|url>', 'the git repository to work on: a local path or a git URL')
    .option('--goal <text>', 'what the run should achieve, in plain words')
    .option(
      '--input-file <run.json>',
      'the run input as JSON (what `temporal workflow start --input` takes); flags override its fields',
    )
    .option('--base <ref>', "branch, tag or commit the run starts from (default: the repository's HEAD)")
    .option('--test-cmd <cmd>', 'shell command that verifies the work each cycle, e.g. "npm test"')
    .option(
      '--setup <cmd>',
      'command that installs the dependencies once, with network, before any agent starts, e.g. "npm ci" ' +
        '(default: detected from the lockfiles; "" for none)',
    )
    .option(
      '--model <role=provider:model>',
      'model for a role (repeatable), e.g. worker=anthropic:claude-haiku-4-5',
      collect,
    )
    .option('--guidance <text>', 'standing instructions for every planner and worker')
    .option(
      '--model-calls <mode>',
      "'activity' (default: one Temporal activity per model call) or 'local' (local activities: less Temporal load for large fleets)",
    )
    .option(
      '--merge-policy <policy>',
      "'merge-clean' (default: a merge without conflicts is accepted) or 'tests-pass' (only if the test command passes on the merged result)",
    )
    .option('--id <id>', 'run id (default run-<yyyymmdd-hhmmss>-<random>); names the result branch longrun/<id>')
    .option('--detach', 'start the run and return at once')
    .option('--json', 'machine-readable output (see the top of src/cli/commands/run.ts)')
    .addOption(
      new Option('--no-key-check', 'do not require provider API keys here (workers elsewhere have their own)'),
    );
  // One flag per field of the run input's `limits`, from its schema (src/cli/lib/run-input.ts).
  for (const spec of LIMIT_FLAGS) {
    const value = spec.nullable ? '<n|none>' : '<n>';
    command.addOption(
      new Option(`${spec.flag} ${value}`, `limits.${spec.field}: ${spec.description}`).argParser(parseLimitValue(spec)),
    );
  }
  command
    .addHelpText(
      'after',
      '\nRoles: planner, subplanner, worker, judge, compactor. Providers: openai, anthropic, openai-compatible.\n' +
        'Example:\n  longrun run --repo ~/src/app --goal "Add input validation to the CLI" --test-cmd "npm test" \\\n' +
        '    --model worker=openai:gpt-5-mini --max-agents 4 --max-cost-usd 20',
    )
    .action(async (opts: RunOptions & Record<string, unknown>) => {
      const runId = opts.id ?? defaultRunId();
      const limits = Object.fromEntries(
        LIMIT_FLAGS.map((l) => [l.field, opts[new Option(l.flag).attributeName()] as number | null | undefined]),
      );
      const { input, problems, fromFlags } = buildRunInput({ ...opts, limits });
      const checkEnv = opts.keyCheck ? process.env : { ...process.env, ...UNCHECKED_KEYS };
      const origin = opts.inputFile ? { file: opts.inputFile, fromFlags } : undefined;
      // Without repo or goal there is nothing to check further: the missing field is the one problem to fix.
      const checked =
        input.repo === undefined || input.goal === undefined
          ? { problems: [] }
          : await runInputProblems(input, runId, checkEnv);
      const all = [...problems, ...checked.problems.map((p) => problemForFlags(p, origin))];
      if (all.length) {
        for (const p of all) console.error(`longrun run: ${p}`);
        console.error(
          `longrun run: nothing was started (${all.length} problem${all.length === 1 ? '' : 's'}); see \`longrun run --help\``,
        );
        process.exitCode = EXIT.usage;
        return;
      }
      const say = opts.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
      const target = targetFrom();
      let startedDev = false;
      if (target.localDefault && !(await serverAnswers(target.address))) {
        say(
          `No Temporal server answers at ${target.address}: starting \`longrun dev\` (dev server + worker) in the background…`,
        );
        const dev = await startBackgroundDev(target.address);
        say(
          `  started (pid ${dev.pid}); logs in ${dev.logFile}. It keeps running after this command; stop it with: kill ${dev.pid}`,
        );
        startedDev = true; // its worker is still starting: no "no worker" warning
      }
      const c = await connect(process.env, target);
      try {
        const { workflowRunId } = await startRun(c, runId, input, target.taskQueue);
        const url = uiLink(target, runId);
        if (opts.json && opts.detach) {
          printJson({ runId, workflowRunId, namespace: target.namespace, taskQueue: target.taskQueue, uiUrl: url });
        } else {
          const style = opts.json ? null : stdoutStyle();
          say(`Started run ${style ? style.bold(runId) : runId} on task queue ${target.taskQueue}`);
          say(`  Web UI: ${url}`);
          say(`  result branch: longrun/${runId} in ${input.repo}`);
        }
        if (!startedDev && !(await workerPolling(c, target.taskQueue))) {
          console.error(
            `longrun run: warning: no worker is polling task queue "${target.taskQueue}" yet; the run waits until one does ` +
              '(start one with `longrun worker`, or `longrun dev` for a local server and worker)',
          );
        }
        if (opts.detach) {
          if (!opts.json)
            say(
              `Follow it with: longrun watch ${runId}   (status: longrun status ${runId}, stop: longrun stop ${runId})`,
            );
          process.exitCode = EXIT.ok;
          return;
        }
        await followRun(c, runId, { json: opts.json });
      } finally {
        await c.close().catch(() => undefined);
      }
    });
}
