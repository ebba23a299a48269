import { concurrencyFor, ProviderLimiter, Semaphore } from '../../src/models/limiter';

describe('limiter', () => {
  test('FIFO: at most `limit` holders, waiters served in arrival order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([s.acquire(), s.acquire()]);
    const waiting = [1, 2, 3].map((n) => s.acquire().then((release) => (order.push(n), release)));
    expect(s.inFlight).toBe(2);
    expect(s.queued).toBe(3);
    releases[0]();
    releases[0](); // double release does not open an extra slot
    const r1 = await waiting[0];
    expect(order).toEqual([1]);
    expect(s.queued).toBe(2);
    releases[1]();
    r1();
    const [r2, r3] = [await waiting[1], await waiting[2]];
    expect(order).toEqual([1, 2, 3]);
    r2();
    r3();
    expect(s.inFlight).toBe(0);
  });

  test('an aborted waiter leaves the queue', async () => {
    const s = new Semaphore(1);
    const held = await s.acquire();
    const ac = new AbortController();
    const waiting = s.acquire(ac.signal);
    ac.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(s.queued).toBe(0);
    held();
    expect(s.inFlight).toBe(0);
  });

  test('limits per provider from the environment', () => {
    const env = { LONGRUN_MODEL_CONCURRENCY: '4', LONGRUN_MODEL_CONCURRENCY_OPENAI_COMPATIBLE: '1' };
    expect(concurrencyFor('openai', env)).toBe(4);
    expect(concurrencyFor('openai-compatible', env)).toBe(1);
    expect(concurrencyFor('anthropic', {})).toBe(32);
    expect(() => concurrencyFor('openai', { LONGRUN_MODEL_CONCURRENCY: 'lots' })).toThrow(
      /LONGRUN_MODEL_CONCURRENCY must be a positive integer/,
    );
    const limiter = new ProviderLimiter(env);
    expect(limiter.for('openai')).toBe(limiter.for('openai'));
    expect(limiter.for('openai-compatible').limit).toBe(1);
  });
});
