import Anthropic from '@anthropic-ai/sdk';
import { startSimulatorProcess, type SimulatorProcess } from '../../bench/lib/sim-process';
import { now } from '../../bench/lib/timeline';

/** The overhead bench's simulator in its own process: a real child, the official SDK over HTTP, timings over IPC. */
describe('simulator process', () => {
  let sim: SimulatorProcess | undefined;
  afterEach(async () => sim?.close());

  const ask = (client: Anthropic) =>
    client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      system: 'You are a senior software engineer.',
      messages: [{ role: 'user', content: '# Your task: Bench task c1 s0 t1\n\nRead, then finish.' }],
    });
  const toolOf = (m: Anthropic.Message) => m.content.find((b) => b.type === 'tool_use')?.name;

  it('plays the bench team, takes a new team between runs, and streams every request’s timing', async () => {
    sim = await startSimulatorProcess({ tasks: 1, scopes: [], workerTurns: 1, doneAtCycle: 1 });
    expect(sim.pid).not.toBe(process.pid);
    const client = new Anthropic({ apiKey: 'k', baseURL: sim.env.ANTHROPIC_BASE_URL, maxRetries: 0 });

    const before = now();
    expect(toolOf(await ask(client))).toBe('read_file'); // turn 0 of 1 read turn
    const after = now();
    await sim.configure({ tasks: 1, scopes: [], workerTurns: 0, doneAtCycle: 1 });
    expect(toolOf(await ask(client))).toBe('finish'); // no read turns any more

    await sim.flush();
    expect(sim.requests).toHaveLength(2);
    const [first] = sim.requests;
    expect(first).toMatchObject({ role: 'worker', agent: 'Bench task c1 s0 t1', status: 200 });
    // The simulator's clock is this process's: its arrival and sent times fall inside the call as seen from here.
    expect(first.arrival).toBeGreaterThanOrEqual(before);
    expect(first.sent).toBeGreaterThanOrEqual(first.arrival);
    expect(first.sent).toBeLessThanOrEqual(after);
  });
});
