import * as fs from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { createModelActivities } from '../../src/activities/model';
import { loadConfig } from '../../src/config';
import {
  MODEL_ERRORS,
  type ChatMessage,
  type ModelCallInput,
  type ProviderName,
  type Role,
} from '../../src/core/types';
import { redactor } from '../../src/core/redact';
import { costOf } from '../../src/models/pricing';
import { startSimulator, type Scenario, type Simulator } from '../../src/sim';
import { ArtifactStore } from '../../src/store/artifacts';
import { tempDir } from '../helpers/temporal';
import { conversation, FINISH, model, READ_FILE } from '../sim/helpers';

/** callModel through longrun's provider code and the official SDKs, against the simulator. */
describe('callModel against the simulator', () => {
  let dir: string;
  let store: ArtifactStore;
  let sim: Simulator | undefined;
  let seq = 0;

  beforeEach(async () => {
    dir = await tempDir('model');
    store = new ArtifactStore(dir);
  });
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function setup(scenario: Scenario, env: NodeJS.ProcessEnv = {}) {
    sim = await startSimulator({ scenario });
    const acts = createModelActivities({
      config: loadConfig({ LONGRUN_HOME: dir }),
      store,
      env: { ...sim.env, ...env },
    });
    return acts;
  }

  async function input(
    provider: ProviderName,
    name: string,
    messages: ChatMessage[] = conversation(),
    role: Role = 'worker',
  ): Promise<ModelCallInput> {
    const id = `run-1/task-${++seq}`;
    const transcript = await store.append(id, 0, messages);
    return {
      runId: 'run-1',
      agentId: `agent-${seq}`,
      role,
      model: model(provider, name),
      transcript,
      tools: [READ_FILE, FINISH],
      inlineArgumentsFor: ['finish'],
    };
  }

  async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  test.each([
    ['openai', 'gpt-5'],
    ['anthropic', 'claude-sonnet-4-6'],
  ] as const)('%s: text reply, usage, cost and the transcript entry', async (provider, name) => {
    const { callModel } = await setup({
      rules: [{ match: { contains: 'Task: Add a README' }, respond: { text: 'All done.' } }],
    });
    const inp = await input(provider, name);
    const result = await callModel(inp);
    expect(result.text).toBe('All done.');
    expect(result.stopReason).toBe('end_turn');
    expect(result.toolCalls).toEqual([]);
    expect(result.transcript).toEqual({ id: inp.transcript.id, length: 3 });
    expect(await store.readEntry(inp.transcript.id, 2)).toEqual({ role: 'assistant', content: 'All done.' });
    // Anthropic: the whole prompt ends in a cache breakpoint, so the first call reports it as a cache write.
    expect(result.usage.inputTokens + result.usage.cacheWriteTokens).toBeGreaterThan(0);
    expect(result.usage.cacheReadTokens).toBe(0);
    expect(result.usage.outputTokens).toBe(Math.ceil('All done.'.length / 4));
    expect(result.usage.costUsd).toBeCloseTo(costOf(result.usage, inp.model.price)!, 12);
    expect(result.usage.costUsd).toBeGreaterThan(0);
    expect(result.requestId).toMatch(/^req_sim_/);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  test.each([
    ['openai', 'gpt-5-mini'],
    ['anthropic', 'claude-haiku-4-5'],
  ] as const)(
    '%s: tool calls — arguments inline only for control tools, full in the transcript',
    async (provider, name) => {
      const { callModel } = await setup({
        rules: [
          {
            respond: {
              text: 'Reading first.',
              toolCalls: [
                { name: 'read_file', arguments: { path: 'src/index.ts' } },
                { name: 'finish', arguments: { summary: 'done' } },
              ],
            },
          },
        ],
      });
      const inp = await input(provider, name);
      const result = await callModel(inp);
      expect(result.stopReason).toBe('tool_use');
      expect(result.toolCalls).toEqual([
        { id: expect.any(String), name: 'read_file', preview: 'src/index.ts' },
        { id: expect.any(String), name: 'finish', arguments: { summary: 'done' } },
      ]);
      const entry = await store.readEntry(inp.transcript.id, 2);
      expect(entry).toMatchObject({
        role: 'assistant',
        content: 'Reading first.',
        toolCalls: [
          { id: result.toolCalls[0].id, name: 'read_file', arguments: { path: 'src/index.ts' } },
          { id: result.toolCalls[1].id, name: 'finish', arguments: { summary: 'done' } },
        ],
      });
    },
  );

  test("a reply that quotes a worker's secret is redacted before it is stored or returned (handoffs included)", async () => {
    const secret = 'sk-ant-reply-canary-77e1';
    sim = await startSimulator({
      scenario: {
        rules: [
          {
            respond: {
              text: `I found ${secret} in the environment.`,
              toolCalls: [{ name: 'finish', arguments: { summary: `key ${secret}` } }],
            },
          },
        ],
      },
    });
    const { callModel } = createModelActivities({
      config: loadConfig({ LONGRUN_HOME: dir }),
      store,
      env: sim.env,
      redact: redactor([{ name: 'ANTHROPIC_API_KEY', value: secret }]),
    });
    const inp = await input('anthropic', 'claude-haiku-4-5');
    const result = await callModel(inp);
    expect(result.text).toBe('I found [redacted:ANTHROPIC_API_KEY] in the environment.');
    expect(result.toolCalls).toEqual([
      { id: expect.any(String), name: 'finish', arguments: { summary: 'key [redacted:ANTHROPIC_API_KEY]' } },
    ]);
    expect(JSON.stringify(await store.readEntry(inp.transcript.id, 2))).not.toContain(secret);
  });

  test.each([
    ['openai', 'gpt-5'],
    ['anthropic', 'claude-sonnet-4-6'],
  ] as const)('%s: a multi-turn conversation round-trips tool calls and results', async (provider, name) => {
    const { callModel } = await setup({
      rules: [
        { match: { turn: 0 }, respond: { toolCalls: [{ name: 'read_file', arguments: { path: 'a.txt' } }] } },
        { match: { turn: 1, last: '^contents of (\\S+)' }, respond: { text: 'saw {{last.1}}' } },
      ],
    });
    const inp = await input(provider, name);
    const first = await callModel(inp);
    const call = first.toolCalls[0];
    const transcript = await store.append(inp.transcript.id, first.transcript.length, [
      { role: 'tool', toolCallId: call.id, name: call.name, content: 'contents of a.txt' },
    ]);
    const second = await callModel({ ...inp, transcript });
    expect(second.text).toBe('saw a.txt');
    expect(sim!.requests.map((r) => r.turn)).toEqual([0, 1]);
  });

  test('anthropic: cache_control on system, last tool and the conversation prefix; cache reads and writes reported and priced', async () => {
    const { callModel } = await setup({
      rules: [{ respond: { toolCalls: [{ name: 'read_file', arguments: { path: 'x' } }] } }],
    });
    const inp = await input('anthropic', 'claude-sonnet-4-6');
    const first = await callModel(inp);
    const body = sim!.requests[0].body as {
      system: Array<{ cache_control?: unknown }>;
      tools: Array<{ cache_control?: unknown }>;
      messages: Array<{ content: Array<{ cache_control?: unknown }> }>;
    };
    expect(body.system.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(body.tools.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(body.tools[0].cache_control).toBeUndefined();
    expect(body.messages.at(-1)!.content.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(first.usage.cacheReadTokens).toBe(0);
    expect(first.usage.cacheWriteTokens).toBeGreaterThan(0);

    const call = first.toolCalls[0];
    const transcript = await store.append(inp.transcript.id, first.transcript.length, [
      { role: 'tool', toolCallId: call.id, name: call.name, content: 'file contents '.repeat(50) },
    ]);
    const second = await callModel({ ...inp, transcript });
    // Everything the first call wrote is read back; only the new turn is written.
    expect(second.usage.cacheReadTokens).toBe(first.usage.cacheWriteTokens);
    expect(second.usage.cacheWriteTokens).toBeGreaterThan(0);
    const price = inp.model.price!;
    const expected =
      (second.usage.inputTokens * price.inputPerMTok +
        second.usage.outputTokens * price.outputPerMTok +
        second.usage.cacheReadTokens * price.cacheReadPerMTok +
        second.usage.cacheWriteTokens * price.cacheWritePerMTok) /
      1e6;
    expect(second.usage.costUsd).toBeCloseTo(expected, 12);
  });

  test('openai: cached_tokens become cacheReadTokens and are not counted as input', async () => {
    const { callModel } = await setup({ rules: [{ respond: { text: 'ok' } }] });
    const inp = await input('openai', 'gpt-5');
    const first = await callModel(inp);
    expect(first.usage.cacheReadTokens).toBe(0);
    const again = await callModel(inp); // same prompt: all of it is a cached prefix now
    const promptTokens = first.usage.inputTokens;
    expect(again.usage.cacheReadTokens).toBe(promptTokens);
    expect(again.usage.inputTokens).toBe(0);
    expect(again.usage.cacheWriteTokens).toBe(0);
    expect(again.usage.costUsd).toBeCloseTo((promptTokens * 0.125 + again.usage.outputTokens * 10) / 1e6, 12);
  });

  test.each([
    ['openai', 'gpt-5'],
    ['anthropic', 'claude-sonnet-4-6'],
  ] as const)('%s: malformed tool-call JSON is reported in argumentsError, not thrown', async (provider, name) => {
    const { callModel } = await setup({
      rules: [
        {
          respond: { toolCalls: [{ name: 'finish', arguments: { summary: 'x' } }] },
          fault: { kind: 'malformed-tool-json' },
        },
      ],
    });
    const inp = await input(provider, name);
    const result = await callModel(inp);
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0].name).toBe('finish');
    expect(result.toolCalls[0].arguments).toBeUndefined();
    expect(result.toolCalls[0].argumentsError).toMatch(/summary/);
    const entry = (await store.readEntry(inp.transcript.id, 2)) as Extract<ChatMessage, { role: 'assistant' }>;
    expect(entry.toolCalls![0].argumentsError).toBe(result.toolCalls[0].argumentsError);
  });

  test('openai-compatible uses OPENAI_COMPATIBLE_BASE_URL; an unknown model costs null, not 0', async () => {
    const { callModel } = await setup(
      { rules: [{ match: { model: 'llama' }, respond: { text: 'hi' } }] },
      { OPENAI_COMPATIBLE_API_KEY: '' },
    );
    const inp = await input('openai-compatible', 'llama3.1:8b');
    expect(inp.model.price).toBeNull();
    const result = await callModel(inp);
    expect(result.text).toBe('hi');
    expect(result.usage.costUsd).toBeNull();
    expect((sim!.requests[0].body as { max_tokens?: number }).max_tokens).toBe(1024);
  });

  test('the text returned to the workflow is a preview; the transcript has all of it', async () => {
    const long = 'x'.repeat(5000);
    const { callModel } = await setup({ rules: [{ respond: { text: long } }] });
    const inp = await input('openai', 'gpt-5');
    const result = await callModel(inp);
    expect(result.text.length).toBeLessThanOrEqual(2000);
    expect((await store.readEntry(inp.transcript.id, 2)) as { content: string }).toMatchObject({ content: long });
  });

  test("an unmatched request fails non-retryably with the simulator's explanation", async () => {
    const { callModel } = await setup({ rules: [{ match: { model: 'no-such' }, respond: { text: 'x' } }] });
    const err = await failure(callModel(await input('anthropic', 'claude-sonnet-4-6', conversation(), 'planner')));
    expect(err.type).toBe(MODEL_ERRORS.badRequest);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /^planner model anthropic:claude-sonnet-4-6: 400 longrun sim: no scenario rule matches .*turn 0/,
    );
  });

  test.each([
    [
      'anthropic',
      { status: 401 },
      MODEL_ERRORS.auth,
      true,
      /worker model anthropic:claude-sonnet-4-6: 401 invalid x-api-key — check ANTHROPIC_API_KEY/,
    ],
    ['openai', { status: 401 }, MODEL_ERRORS.auth, true, /worker model openai:gpt-5: 401 .*check OPENAI_API_KEY/],
    ['openai', { status: 404 }, MODEL_ERRORS.notFound, true, /check models\.worker\.model/],
    ['anthropic', { kind: 'context-length' }, MODEL_ERRORS.contextLength, true, /prompt is too long/],
    ['openai', { kind: 'context-length' }, MODEL_ERRORS.contextLength, true, /maximum context length/],
    ['anthropic', { status: 529 }, MODEL_ERRORS.unavailable, false, /overloaded/],
    ['openai', { status: 500 }, MODEL_ERRORS.unavailable, false, /HTTP 500/],
    ['anthropic', { kind: 'reset' }, MODEL_ERRORS.unavailable, false, /connection failed/],
  ] as const)('%s fault %j → %s', async (provider, fault, type, nonRetryable, message) => {
    const { callModel } = await setup({ rules: [{ fault }] });
    const err = await failure(callModel(await input(provider, provider === 'openai' ? 'gpt-5' : 'claude-sonnet-4-6')));
    expect(err.type).toBe(type);
    expect(err.nonRetryable).toBe(nonRetryable);
    expect(err.message).toMatch(message);
  });

  test.each(['openai', 'anthropic'] as const)(
    '%s: 429 → rate limited, nextRetryDelay from retry-after',
    async (provider) => {
      const { callModel } = await setup({ rules: [{ fault: { status: 429, retryAfterSeconds: 3 } }] });
      const err = await failure(
        callModel(await input(provider, provider === 'openai' ? 'gpt-5' : 'claude-sonnet-4-6')),
      );
      expect(err.type).toBe(MODEL_ERRORS.rateLimited);
      expect(err.nonRetryable).toBe(false);
      expect(err.nextRetryDelay).toBe(3000);
    },
  );

  test('a hang past the client timeout fails as retryable unavailability', async () => {
    const { callModel } = await setup({ rules: [{ fault: { kind: 'hang' } }] }, { LONGRUN_MODEL_TIMEOUT_MS: '1000' });
    const err = await failure(callModel(await input('anthropic', 'claude-sonnet-4-6')));
    expect(err.type).toBe(MODEL_ERRORS.unavailable);
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toMatch(/timed out/);
  });

  test('a missing key fails before any request, naming the variable and the role', async () => {
    const { callModel } = await setup({ rules: [{ respond: { text: 'x' } }] }, { ANTHROPIC_API_KEY: '' });
    const err = await failure(callModel(await input('anthropic', 'claude-sonnet-4-6', conversation(), 'judge')));
    expect(err.type).toBe(MODEL_ERRORS.auth);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /judge model anthropic:claude-sonnet-4-6: ANTHROPIC_API_KEY is not set .*models\.judge\.provider/,
    );
    expect(sim!.requests).toHaveLength(0);
  });
});
