/**
 * `longrun stop|pause|resume ID` and `longrun replan ID --guidance TEXT` — steer a running run.
 *
 *   stop    graceful: no new tasks; running workers finish their current step and hand off; the judge writes a
 *           final summary; the run ends with status "stopped" (the `stop` signal).
 *   pause   no new tasks start; running agents carry on (the `pause` signal). resume undoes it (`resume`).
 *   replan  new guidance for every active planner, applied at its next planning step; sent as the `guide` update,
 *           so it is acknowledged with the number of planners that will see it (0: kept for the next cycle's
 *           planner). Falls back to the `replan` signal when no worker answers within 30 s.
 *
 * --json (replan only): { "runId": string, "acknowledged": boolean, "planners": number | null }
 *
 * Exit codes: 0 sent; 1 Temporal unreachable or the request failed; 2 no such run, the run has already ended,
 * or empty guidance.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { guideUpdate, pauseSignal, replanSignal, resumeSignal, stopSignal } from '../../workflows/definitions';
import { withClient, type Connected } from '../lib/client';
import { asUsageError, printJson, UsageError } from '../lib/command';

/** Signals go to running runs only: a closed run would reject them with a less helpful error. */
async function runningHandle(c: Connected, id: string) {
  const handle = c.client.workflow.getHandle(id);
  let status: string;
  try {
    status = (await c.within(10_000, () => handle.describe())).status.name;
  } catch (err) {
    throw asUsageError(err, id, c.target.namespace);
  }
  if (status !== 'RUNNING') {
    throw new UsageError(`run "${id}" has already ended (${status.toLowerCase()}); see \`longrun report ${id}\``);
  }
  return handle;
}

const SIGNALS = {
  stop: {
    signal: stopSignal,
    description: 'Stop a run gracefully: no new tasks, running workers hand off, the judge writes a final summary.',
    done: (id: string) =>
      `Stop requested for ${id}: running agents hand off, then the judge writes a final summary. Follow it: longrun watch ${id}`,
  },
  pause: {
    signal: pauseSignal,
    description: 'Pause a run: no new tasks start (running agents carry on) until `longrun resume`.',
    done: (id: string) =>
      `Paused ${id}: no new tasks start; running agents carry on. Resume with: longrun resume ${id}`,
  },
  resume: {
    signal: resumeSignal,
    description: 'Resume a paused run.',
    done: (id: string) => `Resumed ${id}.`,
  },
} as const;

export function registerControlCommands(program: Command): void {
  for (const [name, spec] of Object.entries(SIGNALS)) {
    program
      .command(name)
      .description(spec.description)
      .argument('<id>', 'the run id')
      .action(async (id: string) => {
        await withClient(async (c) => {
          const handle = await runningHandle(c, id);
          await c.within(10_000, () => handle.signal(spec.signal));
          console.log(spec.done(id));
        });
      });
  }

  program
    .command('replan')
    .description("Give a run's planners new guidance, applied at their next planning step (acknowledged).")
    .argument('<id>', 'the run id')
    .requiredOption(
      '--guidance <text>',
      'the guidance, e.g. "Leave the parser alone; focus on the CLI"',
      (v: string) => {
        if (!v.trim()) throw new InvalidArgumentError('--guidance must not be empty');
        return v;
      },
    )
    .option('--json', 'print { runId, acknowledged, planners }')
    .action(async (id: string, opts: { guidance: string; json?: boolean }) => {
      await withClient(async (c) => {
        const handle = await runningHandle(c, id);
        let planners: number | null = null;
        try {
          planners = (
            await c.within(30_000, () => handle.executeUpdate(guideUpdate, { args: [{ guidance: opts.guidance }] }))
          ).planners;
        } catch (err) {
          if (!/deadline|timed? ?out/i.test((err as Error).message)) throw err;
          await c.within(10_000, () => handle.signal(replanSignal, { guidance: opts.guidance }));
        }
        if (opts.json) return printJson({ runId: id, acknowledged: planners !== null, planners });
        if (planners === null)
          console.log(`Guidance sent to ${id} (no worker acknowledged it within 30 s; it applies once one does).`);
        else if (planners === 0)
          console.log(`Guidance accepted by ${id}: no planner is active, so the next cycle's planner gets it.`);
        else console.log(`Guidance accepted by ${id}: ${planners} planner(s) apply it at their next planning step.`);
      });
    });
}
