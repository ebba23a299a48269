import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { MODEL_ERRORS } from '../../src/core/types';
import { classifyModelError, parseResetDuration, retryDelayFromHeaders } from '../../src/models/errors';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const h = (o: Record<string, string>) => new Headers(o);
const ctx = { role: 'worker', provider: 'openai', model: 'gpt-5' } as const;

describe('retryDelayFromHeaders', () => {
  test.each([
    [{ 'retry-after': '1' }, 1000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after': 'Sun, 01 Jun 2025 12:00:07 GMT' }, 7000],
    [
      { 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-tokens': '1s' },
      360_000,
    ],
    [{ 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-reset-tokens': '2s' }, 2000],
    [
      { 'anthropic-ratelimit-requests-reset': '2025-06-01T12:00:03Z', 'anthropic-ratelimit-requests-remaining': '0' },
      3000,
    ],
    [{ 'anthropic-ratelimit-input-tokens-reset': '2025-06-01T12:00:04Z' }, 4000],
    [{ 'retry-after': '99999' }, 600_000],
    [{ 'retry-after': 'Sun, 01 Jun 2025 11:00:00 GMT' }, 0],
  ])('%j → %d ms', (headers, ms) => {
    expect(retryDelayFromHeaders(h(headers), NOW)).toBe(ms);
  });

  test('no usable header → undefined (the retry policy decides)', () => {
    expect(retryDelayFromHeaders(h({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryDelayFromHeaders(h({}), NOW)).toBeUndefined();
    expect(retryDelayFromHeaders(undefined, NOW)).toBeUndefined();
  });

  test('parseResetDuration', () => {
    expect(parseResetDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseResetDuration('17ms')).toBe(17);
    expect(parseResetDuration('later')).toBeUndefined();
  });
});

describe('classifyModelError on SDK error objects', () => {
  test('OpenAI RateLimitError → retryable with nextRetryDelay', () => {
    const err = OpenAI.APIError.generate(
      429,
      { error: { message: 'slow down' } },
      undefined,
      h({ 'retry-after': '2' }),
    );
    const f = classifyModelError(err, ctx, NOW) as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f).toMatchObject({ type: MODEL_ERRORS.rateLimited, nonRetryable: false, nextRetryDelay: 2000 });
  });

  test('OpenAI insufficient_quota (a 429) is not worth retrying', () => {
    const body = { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } };
    const f = classifyModelError(OpenAI.APIError.generate(429, body, undefined, h({})), ctx, NOW);
    expect(f).toMatchObject({ type: MODEL_ERRORS.auth, nonRetryable: true });
    expect(f.message).toMatch(/check the billing of the account behind OPENAI_API_KEY/);
  });

  test('OpenAI context_length_exceeded code → ContextLengthExceeded', () => {
    const err = OpenAI.APIError.generate(
      400,
      { error: { message: 'too long', code: 'context_length_exceeded' } },
      undefined,
      h({}),
    );
    expect(classifyModelError(err, ctx, NOW)).toMatchObject({ type: MODEL_ERRORS.contextLength, nonRetryable: true });
  });

  test('Anthropic 403 → auth, message names role, provider, model and the variable', () => {
    const body = { type: 'error', error: { type: 'permission_error', message: 'no access' } };
    const err = Anthropic.APIError.generate(403, body, undefined, h({}));
    const f = classifyModelError(err, { role: 'judge', provider: 'anthropic', model: 'claude-x' }, NOW);
    expect(f).toMatchObject({ type: MODEL_ERRORS.auth, nonRetryable: true });
    expect(f.message).toBe(
      "judge model anthropic:claude-x: 403 no access — check ANTHROPIC_API_KEY in the worker's environment",
    );
  });

  test('timeouts and connection errors of both SDKs → unavailable, retryable', () => {
    for (const err of [
      new OpenAI.APIConnectionTimeoutError(),
      new Anthropic.APIConnectionTimeoutError(),
      new OpenAI.APIConnectionError({ message: 'Connection error.' }),
      new Anthropic.APIConnectionError({ message: 'Connection error.' }),
    ]) {
      expect(classifyModelError(err, ctx, NOW)).toMatchObject({ type: MODEL_ERRORS.unavailable, nonRetryable: false });
    }
  });

  test('a user abort passes through unchanged (cancellation is not a model error)', () => {
    const abort = new OpenAI.APIUserAbortError();
    expect(classifyModelError(abort, ctx, NOW)).toBe(abort);
  });

  test('a 503 with retry-after → unavailable with that delay', () => {
    const err = OpenAI.APIError.generate(503, undefined, 'down', h({ 'retry-after': '4' }));
    expect(classifyModelError(err, ctx, NOW)).toMatchObject({ type: MODEL_ERRORS.unavailable, nextRetryDelay: 4000 });
  });
});
