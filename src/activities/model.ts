import type { Context } from '@temporalio/activity';
import type { LongrunConfig } from '../config';
import type { Redact } from '../core/redact';
import type { ChatMessage, ModelCallInput, ModelCallResult, ProviderName, ToolCall } from '../core/types';
import { classifyModelError } from '../models/errors';
import { ProviderLimiter } from '../models/limiter';
import { costOf } from '../models/pricing';
import { createProvider, type ModelProvider } from '../models/providers';
import type { ArtifactStore } from '../store/artifacts';
import { activityContext, heartbeating } from './heartbeat';

/** Longest reply text returned inline; the full text is in the transcript. */
export const TEXT_PREVIEW_CHARS = 2_000;

/** Default HTTP timeout of one model call (`LONGRUN_MODEL_TIMEOUT_MS`). */
export const DEFAULT_MODEL_TIMEOUT_MS = 10 * 60_000;

export interface ModelActivityDeps {
  config: LongrunConfig;
  store: ArtifactStore;
  /** Where keys, base URLs and limits come from; default process.env. Tests inject their own. */
  env?: NodeJS.ProcessEnv;
  /** Replaces the worker's secrets in replies before they are stored or returned (handoffs come from replies). */
  redact?: Redact;
  /** Test hook: replace a provider's client (e.g. with a fake). */
  providers?: Partial<Record<ProviderName, ModelProvider>>;
}

function timeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.LONGRUN_MODEL_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_MODEL_TIMEOUT_MS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`LONGRUN_MODEL_TIMEOUT_MS must be a positive number, got "${raw}"`);
  return n;
}

export function preview(text: string, max = TEXT_PREVIEW_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The one argument that says what a call does (command, path, pattern), cut short: for activity summaries. */
export function argumentsPreview(args: unknown, max = 80): string {
  const a = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
  const main = a.command ?? a.path ?? a.pattern ?? Object.values(a).find((v) => typeof v === 'string') ?? '';
  const text = String(main).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Tool calls as the workflow sees them: arguments inline only for control tools, the rest stay on disk. */
export function workflowToolCalls(calls: ToolCall[], inlineArgumentsFor: string[] = []): ToolCall[] {
  return calls.map((c) => {
    const out: ToolCall = { id: c.id, name: c.name };
    if (inlineArgumentsFor.includes(c.name) && c.arguments !== undefined) out.arguments = c.arguments;
    else if (c.arguments !== undefined) out.preview = argumentsPreview(c.arguments);
    if (c.argumentsError !== undefined) out.argumentsError = c.argumentsError;
    return out;
  });
}

export function createModelActivities(deps: ModelActivityDeps) {
  const env = deps.env ?? process.env;
  const limiter = new ProviderLimiter(env);
  const timeoutMs = timeoutFromEnv(env);
  const redact: Redact = deps.redact ?? ((value) => value);
  const clients = new Map<ProviderName, ModelProvider>(
    Object.entries(deps.providers ?? {}) as Array<[ProviderName, ModelProvider]>,
  );

  function provider(name: ProviderName): ModelProvider {
    let p = clients.get(name);
    if (!p) {
      p = createProvider(name, env, { timeoutMs });
      clients.set(name, p);
    }
    return p;
  }

  /**
   * One model turn: reads the transcript (claim-check), calls the provider under the per-provider
   * concurrency limit, writes the assistant reply at index `transcript.length` (a retry overwrites
   * it) and returns a small result for workflow history.
   */
  async function callModel(input: ModelCallInput): Promise<ModelCallResult> {
    const ctx = activityContext();
    const { role, model } = input;
    const errCtx = { role, provider: model.provider, model: model.model };
    const messages: ChatMessage[] = await deps.store.read(input.transcript);
    let phase = 'queued';
    return heartbeating(
      async (signal) => {
        let client: ModelProvider;
        try {
          client = provider(model.provider);
        } catch (err) {
          throw classifyModelError(err, errCtx);
        }
        const release = await limiter.acquire(model.provider, signal);
        phase = 'calling';
        const started = Date.now();
        // Leave a margin under the activity's own timeout, so a hung call fails as ours, classified.
        const callTimeout = Math.max(1_000, Math.min(timeoutMs, remainingMs(ctx) - 5_000));
        let completion;
        try {
          completion = await client.complete({
            model,
            messages,
            tools: input.tools,
            toolChoice: input.toolChoice,
            signal,
            timeoutMs: callTimeout,
            cacheKey: input.transcript.id,
          });
        } catch (err) {
          if (signal?.aborted && signal.reason instanceof Error) throw signal.reason;
          throw classifyModelError(err, errCtx);
        } finally {
          release();
        }
        const latencyMs = Date.now() - started;
        phase = 'saving';
        // Some compatible servers omit ids; the transcript needs them to pair results with calls.
        const toolCalls = redact(
          completion.toolCalls.map((c, i) => ({
            ...c,
            id: c.id || `call_${input.transcript.length}_${i}`,
          })),
        );
        const text = redact(completion.text);
        const reply: ChatMessage = {
          role: 'assistant',
          content: text,
          ...(toolCalls.length ? { toolCalls } : {}),
        };
        const transcript = await deps.store.append(input.transcript.id, input.transcript.length, [reply]);
        const usage = { ...completion.usage, costUsd: costOf(completion.usage, model.price) };
        ctx?.log.info('model call', {
          agentId: input.agentId,
          role,
          model: `${model.provider}:${model.model}`,
          attempt: ctx?.info.attempt ?? 1,
          latencyMs,
          ...usage,
          stopReason: completion.stopReason,
          toolCalls: toolCalls.map((c) => c.name).join(','),
          requestId: completion.requestId,
        });
        return {
          transcript,
          text: preview(text),
          toolCalls: workflowToolCalls(toolCalls, input.inlineArgumentsFor),
          stopReason: completion.stopReason,
          usage,
          latencyMs,
          ...(completion.requestId ? { requestId: completion.requestId } : {}),
        };
      },
      () => ({ phase }),
    );
  }

  return { callModel };
}

/** Time left before the activity's start-to-close timeout; unbounded outside an activity. */
function remainingMs(ctx: Context | undefined): number {
  const info = ctx?.info;
  if (!info?.startToCloseTimeoutMs) return Infinity;
  return info.startToCloseTimeoutMs - (Date.now() - (info.currentAttemptScheduledTimestampMs ?? Date.now()));
}
