/**
 * The simulator as a process of its own, so the CPU meter can tell its CPU from the worker's when the worker runs
 * in the bench process (the overhead bench). It plays a fixed bench team (`TeamSpec`, changed between runs with
 * `configure`) and streams every request's timing to the bench over IPC. Its times are `now()`: high-resolution
 * epoch ms, which agree between processes on one machine, so they join with the worker's activity spans.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { startSimulator } from '../../src/sim';
import { benchTeam } from './team';
import { recordTimeline, type TimedRequest } from './timeline';

/** A bench team that needs no functions: a fixed layout and a fixed number of worker turns, no latency. */
export interface TeamSpec {
  tasks: number;
  scopes: number[];
  workerTurns: number;
  doneAtCycle: number;
}

type ToChild = { type: 'configure'; spec: TeamSpec } | { type: 'flush' };
type FromChild =
  { type: 'ready'; env: Record<string, string> } | { type: 'request'; rec: TimedRequest } | { type: 'flushed' };

export interface SimulatorProcess {
  pid: number;
  env: Record<string, string>;
  /** Every request so far, in arrival order; `sent` is filled in as responses go out. */
  requests: TimedRequest[];
  configure(spec: TeamSpec): Promise<void>;
  /** Resolves once every timing the simulator has sent so far is in `requests`. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function startSimulatorProcess(spec: TeamSpec): Promise<SimulatorProcess> {
  const child: ChildProcess = fork(__filename, ['--sim-process', JSON.stringify(spec)], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const requests: TimedRequest[] = [];
  const byIndex = new Map<number, TimedRequest>();
  const waiting: Array<() => void> = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the simulator process exited (${signal ?? code})`)));
    child.on('message', (raw) => {
      const msg = raw as FromChild;
      if (msg.type === 'ready') resolve(msg.env);
      else if (msg.type === 'flushed') waiting.shift()?.();
      else {
        const rec = { ...msg.rec, sent: msg.rec.sent ?? NaN }; // NaN travels as null
        const known = byIndex.get(rec.index);
        if (known) Object.assign(known, rec);
        else {
          byIndex.set(rec.index, rec);
          requests.push(rec);
        }
      }
    });
  });
  const ask = (msg: ToChild) =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      child.send(msg);
    });
  return {
    pid: child.pid!,
    env,
    requests,
    configure: (next) => ask({ type: 'configure', spec: next }),
    flush: () => ask({ type: 'flush' }),
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function serve(initial: TeamSpec): Promise<void> {
  let spec = initial;
  const send = (msg: FromChild) => process.send!(msg);
  const timeline = recordTimeline(
    benchTeam({
      layout: () => ({ tasks: spec.tasks, scopes: spec.scopes }),
      workerTurns: () => spec.workerTurns,
      doneAtCycle: spec.doneAtCycle,
    }),
    (rec) => send({ type: 'request', rec }),
  );
  const sim = await startSimulator({ scenario: timeline.scenario, log: timeline.log });
  process.on('message', (raw) => {
    const msg = raw as ToChild;
    if (msg.type === 'configure') spec = msg.spec;
    send({ type: 'flushed' }); // IPC keeps order: every timing sent before this has arrived when it does
  });
  process.once('SIGTERM', () => void sim.close().then(() => process.exit(0)));
  process.once('disconnect', () => void sim.close().then(() => process.exit(0)));
  send({ type: 'ready', env: sim.env });
}

if (require.main === module && process.argv[2] === '--sim-process') {
  serve(JSON.parse(process.argv[3]) as TeamSpec).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
