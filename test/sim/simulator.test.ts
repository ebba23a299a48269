import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { parseScenario, startSimulator, type Simulator } from '../../src/sim';
import { tempDir } from '../helpers/temporal';

/** The unmodified official SDKs against the simulator, without longrun's provider layer in between. */
describe('simulated model server: raw SDKs', () => {
  let sim: Simulator;
  afterEach(async () => sim?.close());

  function clients() {
    return {
      openai: new OpenAI({ apiKey: 'k', baseURL: sim.env.OPENAI_BASE_URL, maxRetries: 0 }),
      anthropic: new Anthropic({ apiKey: 'k', baseURL: sim.env.ANTHROPIC_BASE_URL, maxRetries: 0 }),
    };
  }

  test('OpenAI chat completion with a tool call parses and carries the request id', async () => {
    sim = await startSimulator({
      scenario: {
        rules: [
          {
            match: { model: '^gpt-' },
            respond: { text: 'on it', toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] },
          },
        ],
      },
    });
    const { openai } = clients();
    const { data, request_id } = await openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0].finish_reason).toBe('tool_calls');
    const call = data.choices[0].message.tool_calls![0];
    expect(call.type).toBe('function');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ path: 'a.ts' });
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(request_id).toMatch(/^req_sim_/);
    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0]).toMatchObject({ api: 'openai', model: 'gpt-5', turn: 0, rule: 0, status: 200 });
  });

  test('Anthropic message with text and tool_use, request-id header', async () => {
    sim = await startSimulator({
      scenario: {
        rules: [
          {
            match: { api: 'anthropic' },
            respond: { text: 'reading', toolCalls: [{ name: 'read_file', arguments: { path: 'b' } }] },
          },
        ],
      },
    });
    const { anthropic } = clients();
    const { data, request_id } = await anthropic.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.stop_reason).toBe('tool_use');
    expect(data.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    expect(request_id).toMatch(/^req_sim_/);
  });

  test('turn counts assistant messages; times uses a rule up; templates fill captures', async () => {
    sim = await startSimulator({
      scenario: {
        rules: [
          {
            match: { turn: 0, contains: 'Task: (?<title>.*)' },
            respond: { text: 'working on {{title}} (turn {{turn}})' },
            times: 1,
          },
          { match: { turn: 0 }, respond: { text: 'second' } },
          { match: { turn: { min: 1 } }, respond: { text: 'later, last={{last.1}}' }, name: 'later' },
        ],
      },
    });
    const { openai } = clients();
    const ask = async (messages: OpenAI.ChatCompletionMessageParam[]) =>
      (await openai.chat.completions.create({ model: 'm', messages })).choices[0].message.content;
    expect(await ask([{ role: 'user', content: 'Task: write docs\nmore' }])).toBe('working on write docs (turn 0)');
    expect(await ask([{ role: 'user', content: 'Task: write docs' }])).toBe('second');
    await expect(
      ask([
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'y' },
        { role: 'user', content: 'z' },
      ]),
    ).rejects.toThrow(/\{\{last\.1\}\}/); // `last` regex absent: unknown template variable, named in the error
    expect(sim.requests.map((r) => r.rule)).toEqual([0, 1, 2]);
  });

  test('an unmatched request gets a 400 naming model and turn', async () => {
    sim = await startSimulator({
      scenario: { rules: [{ match: { model: 'nothing-like-this' }, respond: { text: 'x' } }] },
    });
    const { anthropic, openai } = clients();
    await expect(
      anthropic.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    ).rejects.toMatchObject({
      status: 400,
      apiMessage: expect.stringMatching(/no scenario rule matches .*model "claude-haiku-4-5", turn 0/),
    });
    await expect(
      openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'q' }] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/model "gpt-5", turn 0/),
    });
    expect(sim.requests.map((r) => r.outcome)).toEqual(['unmatched', 'unmatched']);
  });

  test("429 carries retry-after and both providers' rate-limit headers", async () => {
    sim = await startSimulator({ scenario: { rules: [{ fault: { status: 429, retryAfterSeconds: 2 } }] } });
    const { openai } = clients();
    const err = (await openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: 'q' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers?.get('retry-after')).toBe('2');
    expect(err.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(err.headers?.get('x-ratelimit-reset-requests')).toBe('2s');
    expect(Date.parse(err.headers!.get('anthropic-ratelimit-requests-reset')!)).toBeGreaterThan(Date.now());
  });

  test('a scripted scenario answers from the request', async () => {
    sim = await startSimulator({
      scenario: (req) =>
        req.api === 'anthropic'
          ? { text: `${req.model} saw ${req.messages.length} messages, tools=${req.tools.join(',')}` }
          : null,
    });
    const { anthropic } = clients();
    const msg = await anthropic.messages.create({
      model: 'claude-x',
      max_tokens: 10,
      system: 'sys',
      tools: [{ name: 'finish', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(msg.content[0].type === 'text' && msg.content[0].text).toBe('claude-x saw 2 messages, tools=finish');
    expect(sim.requests[0].rule).toBeNull();
  });

  test('a scenario is loaded from a JSON file and the apiKey is enforced', async () => {
    const dir = await tempDir('sim-scenario');
    try {
      const file = path.join(dir, 's.json');
      await fs.writeFile(file, JSON.stringify({ apiKey: 'right', rules: [{ respond: { text: 'ok' } }] }));
      sim = await startSimulator({ scenario: file });
      const wrong = new Anthropic({ apiKey: 'wrong', baseURL: sim.url, maxRetries: 0 });
      await expect(
        wrong.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      const right = new Anthropic({ apiKey: sim.env.ANTHROPIC_API_KEY, baseURL: sim.url, maxRetries: 0 });
      const ok = await right.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
      expect(ok.content[0].type === 'text' && ok.content[0].text).toBe('ok');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('one log line per request', async () => {
    const lines: string[] = [];
    sim = await startSimulator({ scenario: { rules: [{ respond: { text: 'ok' } }] }, log: (l) => lines.push(l) });
    const { openai } = clients();
    await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'q' }] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/sim #0 POST \/v1\/chat\/completions model=gpt-5 turn=0 rule=0 -> 200 text/);
  });
});

describe('scenario validation', () => {
  test.each([
    [{ rules: [] }, /rules: needs at least one rule/],
    [
      { rules: [{ respond: { text: 'a' } }, { match: { model: '(' }, respond: { text: 'b' } }] },
      /rules\[1\]\.match\.model: is not a valid regular expression/,
    ],
    [{ rules: [{ fault: { status: 200 } }] }, /rules\[0\]\.fault\.status: Too small/],
    [{ rules: [{ fault: { retryAfterSeconds: 1 } }] }, /rules\[0\]\.fault: must be \{"status": 400\.\.599/],
    [{ rules: [{ fault: { kind: 'explode' } }] }, /rules\[0\]\.fault/],
    [{ rules: [{ match: { turn: 0 } }] }, /rules\[0\]: needs "respond"/],
    [{ rules: [{ respond: { text: 'a' }, latency: { p50Ms: 500, p90Ms: 100 } }] }, /rules\[0\]\.latency/],
    [{ rules: [{ respond: { txt: 'a' } }] }, /rules\[0\]\.respond: Unrecognized key: "txt"/],
    [{ rules: [{ respond: { text: 'a' }, times: 0 }] }, /rules\[0\]\.times/],
  ])('rejects %j', (scenario, message) => {
    expect(() => parseScenario(scenario)).toThrow(message);
  });

  test('accepts the documented shape', () => {
    const s = parseScenario({
      rules: [
        {
          match: { model: 'regex', contains: 'regex over all message text', turn: 0 },
          respond: { text: '...', toolCalls: [{ name: '...', arguments: {} }] },
          latency: { p50Ms: 500, p90Ms: 2000 },
          fault: { status: 429, retryAfterSeconds: 1 },
          times: 2,
        },
        { respond: { text: 'x' }, latency: { ms: 100 }, fault: { kind: 'malformed-tool-json' } },
      ],
    });
    expect(s.rules).toHaveLength(2);
  });
});
