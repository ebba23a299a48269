import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { MODEL_ERRORS, type ProviderName, type Role } from '../core/types';
import { PROVIDER_ENV } from './settings';

export interface ModelErrorContext {
  role: Role;
  provider: ProviderName;
  model: string;
}

/** The part of a Fetch `Headers` we use; both SDKs expose one on `APIError.headers`. */
export interface HeaderLookup {
  get(name: string): string | null;
  forEach?(cb: (value: string, name: string) => void): void;
}

/** Longest delay we honour from a header: beyond this the retry policy's own backoff is saner. */
const MAX_HEADER_DELAY_MS = 10 * 60_000;

/** Parses OpenAI's reset durations: "1s", "6m0s", "20ms", "1h2m3.5s". */
export function parseResetDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    matched += m[0];
  }
  return matched.length > 0 && matched === text.trim() ? total : undefined;
}

/**
 * How long the provider asks us to wait, in ms, from (in order) `retry-after-ms`, `retry-after`
 * (seconds or an HTTP date), then the rate-limit reset headers of exhausted limits
 * (`x-ratelimit-reset-{requests,tokens}`, `anthropic-ratelimit-*-reset`). Undefined when none is usable.
 */
export function retryDelayFromHeaders(headers: HeaderLookup | undefined | null, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const clamp = (ms: number) => Math.min(Math.max(0, Math.ceil(ms)), MAX_HEADER_DELAY_MS);
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms)) return clamp(ms);
  const after = headers.get('retry-after');
  if (after) {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) return clamp(seconds * 1000);
    const date = Date.parse(after);
    if (Number.isFinite(date)) return clamp(date - now);
  }
  const exhausted: number[] = [];
  const all: number[] = [];
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    const openai = headers.get(`x-ratelimit-reset-${kind}`);
    const anthropic = headers.get(`anthropic-ratelimit-${kind}-reset`);
    const delay =
      openai != null ? parseResetDuration(openai) : anthropic != null ? Date.parse(anthropic) - now : undefined;
    if (delay === undefined || !Number.isFinite(delay)) continue;
    all.push(delay);
    const remaining =
      headers.get(`x-ratelimit-remaining-${kind}`) ?? headers.get(`anthropic-ratelimit-${kind}-remaining`);
    if (remaining === '0') exhausted.push(delay);
  }
  const pick = exhausted.length ? exhausted : all;
  return pick.length ? clamp(Math.max(...pick)) : undefined;
}

interface ApiErrorLike {
  status?: number;
  headers?: HeaderLookup;
  message?: string;
  code?: string | null;
  name?: string;
  requestID?: string | null;
  /** Anthropic: error.message from the body (its `message` is the whole body as JSON). */
  apiMessage?: string | null;
  error?: unknown;
}

const CONTEXT_LENGTH =
  /context[_ ]length|context window|prompt is too long|maximum context|too many tokens|input is too long/i;

// The two SDKs have parallel but distinct error classes (and OpenAI's do not set `name`).
const TIMEOUTS = [OpenAI.APIConnectionTimeoutError, Anthropic.APIConnectionTimeoutError];
const CONNECTION = [OpenAI.APIConnectionError, Anthropic.APIConnectionError];
const ABORTS = [OpenAI.APIUserAbortError, Anthropic.APIUserAbortError];
const isAny = (err: unknown, classes: Array<abstract new (...args: never[]) => unknown>) =>
  classes.some((c) => err instanceof c);

function isTimeout(err: ApiErrorLike): boolean {
  return isAny(err, TIMEOUTS) || err.name === 'APIConnectionTimeoutError';
}

function isConnectionError(err: ApiErrorLike): boolean {
  if (isAny(err, CONNECTION) || err.name === 'APIConnectionError') return true;
  const code = (err as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? err.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_\w+)$/.test(code);
}

/**
 * Turns an SDK error into an ApplicationFailure Temporal understands: transient failures retryable
 * (with the provider's requested delay as nextRetryDelay), the user's mistakes non-retryable with a
 * message naming role, provider, model and the fix. A cancellation is returned unchanged.
 */
export function classifyModelError(error: unknown, ctx: ModelErrorContext, now = Date.now()): Error {
  if (error instanceof ApplicationFailure) return error;
  const err = (error ?? {}) as ApiErrorLike;
  if (isAny(error, ABORTS) || err.name === 'AbortError' || err.name === 'CancelledFailure') {
    return error instanceof Error ? error : new Error(String(error));
  }
  const who = `${ctx.role} model ${ctx.provider}:${ctx.model}`;
  const status = typeof err.status === 'number' ? err.status : undefined;
  const detail = (err.apiMessage && status ? `${status} ${err.apiMessage}` : (err.message ?? String(error))).slice(
    0,
    500,
  );
  const details = [
    { status: status ?? null, requestId: err.requestID ?? null, provider: ctx.provider, model: ctx.model },
  ];
  const fail = (type: string, message: string, nonRetryable: boolean, nextRetryDelay?: number) =>
    ApplicationFailure.create({
      type,
      message,
      nonRetryable,
      details,
      cause: error instanceof Error ? error : undefined,
      ...(nextRetryDelay !== undefined ? { nextRetryDelay } : {}),
    });

  if (status === undefined) {
    if (err.name === 'ModelConfigError') {
      return fail(
        MODEL_ERRORS.auth,
        `${who}: ${detail}; set it or choose another provider with models.${ctx.role}.provider`,
        true,
      );
    }
    if (isTimeout(err)) return fail(MODEL_ERRORS.unavailable, `${who}: request timed out (${detail})`, false);
    if (isConnectionError(err)) return fail(MODEL_ERRORS.unavailable, `${who}: connection failed (${detail})`, false);
    return error instanceof Error ? error : new Error(`${who}: ${detail}`);
  }
  const delay = retryDelayFromHeaders(err.headers, now);
  const keyVar = PROVIDER_ENV[ctx.provider].key;
  const urlVar = PROVIDER_ENV[ctx.provider].baseUrl;
  if (status === 429 && err.code === 'insufficient_quota') {
    // OpenAI reports an exhausted balance as 429 too; waiting does not help, paying does.
    return fail(MODEL_ERRORS.auth, `${who}: ${detail} — check the billing of the account behind ${keyVar}`, true);
  }
  if (status === 429) {
    return fail(MODEL_ERRORS.rateLimited, `${who}: rate limited (${detail})`, false, delay);
  }
  if (status === 401 || status === 403) {
    return fail(MODEL_ERRORS.auth, `${who}: ${detail} — check ${keyVar} in the worker's environment`, true);
  }
  if (status === 404) {
    return fail(
      MODEL_ERRORS.notFound,
      `${who}: ${detail} — check models.${ctx.role}.model (is "${ctx.model}" available to this key?) and ${urlVar}`,
      true,
    );
  }
  if (
    status === 413 ||
    ((status === 400 || status === 422) && (err.code === 'context_length_exceeded' || CONTEXT_LENGTH.test(detail)))
  ) {
    return fail(MODEL_ERRORS.contextLength, `${who}: context length exceeded (${detail})`, true);
  }
  if (status === 400 || status === 422) {
    return fail(MODEL_ERRORS.badRequest, `${who}: ${detail} — check the models.${ctx.role} settings`, true);
  }
  if (status === 408 || status === 409 || status >= 500) {
    const what = status === 529 ? 'overloaded' : `unavailable (HTTP ${status})`;
    return fail(MODEL_ERRORS.unavailable, `${who}: ${what} (${detail})`, false, delay);
  }
  return fail(MODEL_ERRORS.badRequest, `${who}: unexpected HTTP ${status}: ${detail}`, true);
}
