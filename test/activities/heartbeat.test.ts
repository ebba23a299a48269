import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { beatIntervalMs, heartbeating, withHeartbeats } from '../../src/activities/heartbeat';

/**
 * The one heartbeat helper, in the SDK's real activity context (MockActivityEnvironment: no server). Fake timers make
 * "a beat is due" a step of the test, not a wait.
 */
describe('heartbeating', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A 1.5 s heartbeat timeout: one beat every 500 ms. */
  function activityEnv(info: { isLocal?: boolean } = {}) {
    const env = new MockActivityEnvironment(
      { heartbeatTimeoutMs: 1_500, ...info },
      { logger: new DefaultLogger('ERROR') },
    );
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    return { env, beats };
  }

  function deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  }

  test('the interval is a third of the heartbeat timeout, between 0.5 and 10 s', () => {
    expect(beatIntervalMs(600)).toBe(500);
    expect(beatIntervalMs(1_500)).toBe(500);
    expect(beatIntervalMs(2_000)).toBeCloseTo(667, 0); // the smallest timeout a run accepts beats three times in it
    expect(beatIntervalMs(9_000)).toBe(3_000);
    expect(beatIntervalMs(30_000)).toBe(10_000);
    expect(beatIntervalMs(600_000)).toBe(10_000);
    expect(beatIntervalMs(undefined)).toBe(10_000);
  });

  test('outside an activity it just runs the work, with no signal', async () => {
    const seen: Array<AbortSignal | undefined> = [];
    await expect(heartbeating(async (signal) => (seen.push(signal), 'done'))).resolves.toBe('done');
    expect(seen).toEqual([undefined]);
  });

  test('beats while the work runs, never at once, and stops when it ends', async () => {
    const { env, beats } = activityEnv();
    const work = deferred();
    const running = env.run(() => heartbeating(() => work.promise));
    await jest.advanceTimersByTimeAsync(499);
    expect(beats).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(beats).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(beats).toHaveLength(3);
    work.resolve();
    await running;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(beats).toHaveLength(3);
  });

  test('nested calls share the one timer and report the innermost details', async () => {
    const { env, beats } = activityEnv();
    const outer = deferred();
    const inner = deferred();
    let phase = 'queued';
    const running = env.run(() =>
      heartbeating(async () => {
        await heartbeating(
          () => inner.promise,
          () => ({ phase }),
        );
        await outer.promise;
      }),
    );
    await jest.advanceTimersByTimeAsync(500);
    phase = 'calling';
    await jest.advanceTimersByTimeAsync(500);
    inner.resolve();
    await jest.advanceTimersByTimeAsync(500);
    outer.resolve();
    await running;
    // One beat per interval (not one per nested call); the outer call's own beats carry no details.
    expect(beats).toEqual([{ phase: 'queued' }, { phase: 'calling' }, undefined]);
  });

  test('calls side by side in one activity: the timer runs until the last one ends', async () => {
    const { env, beats } = activityEnv();
    const first = deferred();
    const second = deferred();
    const running = env.run(() =>
      Promise.all([
        heartbeating(
          () => first.promise,
          () => 'first',
        ),
        heartbeating(
          () => second.promise,
          () => 'second',
        ),
      ]),
    );
    await jest.advanceTimersByTimeAsync(500);
    first.resolve();
    await jest.advanceTimersByTimeAsync(500);
    second.resolve();
    await running;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(beats).toEqual(['second', 'second']);
  });

  test("the work gets the activity's cancellation signal; a cancelled activity stops beating", async () => {
    const { env, beats } = activityEnv();
    const running = env.run(() =>
      heartbeating(
        (signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error))),
      ),
    );
    await jest.advanceTimersByTimeAsync(500);
    expect(beats).toHaveLength(1);
    env.cancel('CANCELLED');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(beats).toHaveLength(1);
  });

  test('a local activity does not heartbeat (its workflow task is heartbeated) but can still be cancelled', async () => {
    const { env, beats } = activityEnv({ isLocal: true });
    const running = env.run(() =>
      heartbeating(
        (signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error))),
        () => 'never sent',
      ),
    );
    await jest.advanceTimersByTimeAsync(5_000);
    env.cancel('CANCELLED');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(beats).toHaveLength(0);
  });

  test('withHeartbeats wraps every activity, keeping its name', async () => {
    const { env, beats } = activityEnv();
    const work = deferred();
    const { slowActivity } = withHeartbeats({ slowActivity: async (n: number) => (await work.promise, n + 1) });
    expect(slowActivity.name).toBe('slowActivity');
    const running = env.run(slowActivity, 41);
    await jest.advanceTimersByTimeAsync(1_000);
    work.resolve();
    await expect(running).resolves.toBe(42);
    expect(beats).toEqual([undefined, undefined]);
  });
});
