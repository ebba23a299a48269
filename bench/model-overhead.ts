/**
 * Bench (not a test): per-call overhead of the model layer with zero simulated latency.
 * For each provider, N sequential calls of three kinds against the simulator:
 *   - raw-fetch:  a hand-built HTTP request with fetch (the floor: HTTP + the simulator's own work)
 *   - provider:   longrun's provider (message conversion + official SDK + response parsing)
 *   - callModel:  the whole activity (transcript read, limiter, provider, transcript write, cost)
 *   - transcriptReadWrite: the artifact-store part alone (read the transcript, write the reply)
 * provider − raw-fetch is the SDK + conversion overhead; callModel − provider is mostly the artifact store's.
 * Run: npx ts-node bench/model-overhead.ts   (writes bench/results/model-overhead.json; N via BENCH_CALLS)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModelActivities } from '../src/activities/model';
import { loadConfig } from '../src/config';
import type { ChatMessage, ModelCallInput, ProviderName, ResolvedModel, ToolSpec } from '../src/core/types';
import { priceFor } from '../src/models/pricing';
import { createProvider } from '../src/models/providers';
import { toAnthropicPayload, toAnthropicTools } from '../src/models/providers/anthropic';
import { toOpenAIMessages, toOpenAITools } from '../src/models/providers/openai';
import { startSimulator } from '../src/sim';
import { ArtifactStore } from '../src/store/artifacts';
import { runAsScript } from './lib/report';

const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const WARMUP = 20;

const TOOLS: ToolSpec[] = ['read_file', 'write_file', 'run_command', 'finish'].map((name) => ({
  name,
  description: `The ${name} tool.`,
  parameters: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } } },
}));

/** A realistic mid-task transcript: system prompt, task, 10 tool round trips. */
function transcript(): ChatMessage[] {
  const msgs: ChatMessage[] = [
    { role: 'system', content: 'You are a longrun worker. '.repeat(100) },
    { role: 'user', content: 'Task: implement the parser.\n' + 'Acceptance: tests pass.\n'.repeat(20) },
  ];
  for (let i = 0; i < 10; i++) {
    msgs.push({
      role: 'assistant',
      content: `Step ${i}.`,
      toolCalls: [{ id: `c${i}`, name: 'read_file', arguments: { path: `src/f${i}.ts` } }],
    });
    msgs.push({ role: 'tool', toolCallId: `c${i}`, name: 'read_file', content: 'export const x = 1;\n'.repeat(40) });
  }
  return msgs;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

async function measure(fn: () => Promise<unknown>): Promise<{ p50Ms: number; p99Ms: number; meanMs: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { p50Ms: round(percentile(samples, 50)), p99Ms: round(percentile(samples, 99)), meanMs: round(mean) };
}

export async function run() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-model-'));
  const sim = await startSimulator({
    scenario: {
      rules: [
        {
          respond: { text: 'ok', toolCalls: [{ name: 'read_file', arguments: { path: 'src/next.ts' } }] },
          latency: { ms: 0 },
        },
      ],
    },
  });
  try {
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const { callModel } = createModelActivities({ config: loadConfig({ LONGRUN_HOME: home }), store, env: sim.env });
    const messages = transcript();
    const results = [];
    for (const [provider, name] of [
      ['openai', 'gpt-5'],
      ['anthropic', 'claude-sonnet-4-6'],
    ] as Array<[ProviderName, string]>) {
      const model: ResolvedModel = {
        provider,
        model: name,
        maxTokens: 4096,
        contextWindow: 200_000,
        price: priceFor(provider, name, {}),
      };
      const client = createProvider(provider, sim.env, { timeoutMs: 30_000 });
      const ref = await store.append(`bench/${provider}`, 0, messages);
      const input: ModelCallInput = {
        runId: 'bench',
        agentId: 'bench',
        role: 'worker',
        model,
        transcript: ref,
        tools: TOOLS,
      };
      const rawBody = JSON.stringify(
        provider === 'openai'
          ? {
              model: name,
              messages: toOpenAIMessages(messages),
              tools: toOpenAITools(TOOLS),
              max_completion_tokens: 4096,
            }
          : { model: name, max_tokens: 4096, ...toAnthropicPayload(messages), tools: toAnthropicTools(TOOLS) },
      );
      const rawUrl =
        provider === 'openai'
          ? `${sim.env.OPENAI_BASE_URL}/chat/completions`
          : `${sim.env.ANTHROPIC_BASE_URL}/v1/messages`;
      const rawFetch = await measure(async () => {
        const res = await fetch(rawUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
          body: rawBody,
        });
        await res.json();
      });
      const viaProvider = await measure(() => client.complete({ model, messages, tools: TOOLS }));
      const viaActivity = await measure(() => callModel(input));
      const store_ = await measure(async () => {
        await store.read(ref);
        await store.writeEntry(ref.id, ref.length, { role: 'assistant', content: 'ok' });
      });
      const result = {
        provider,
        model: name,
        calls: CALLS,
        rawFetch,
        provider_: viaProvider,
        callModel: viaActivity,
        transcriptReadWrite: store_,
        providerOverheadP50Ms: round(viaProvider.p50Ms - rawFetch.p50Ms),
        activityOverheadP50Ms: round(viaActivity.p50Ms - viaProvider.p50Ms),
      };
      console.log(JSON.stringify(result));
      results.push(result);
    }
    const report = {
      bench: 'model-overhead',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      transcriptMessages: messages.length,
      note: 'sequential calls, simulated latency 0; times include the simulator (same process) and loopback HTTP',
      results: results.map(({ provider_, ...r }) => ({ ...r, provider: r.provider, viaProvider: provider_ })),
    };
    const out = path.join(__dirname, 'results', 'model-overhead.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await sim.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(run);
