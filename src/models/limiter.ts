import type { ProviderName } from '../core/types';

export type Release = () => void;

/**
 * A FIFO counting semaphore. Waiters are served in arrival order, so a burst of agents turns into a
 * queue with bounded wait instead of a wall of 429s and starvation.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<{ grant: (release: Release) => void }> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`concurrency limit must be a positive integer, got ${limit}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter = {
        grant: (release: Release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return; // a double release must not open an extra slot
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant(this.releaser());
      else this.active--;
    };
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted while waiting for a model call slot');
}

export const DEFAULT_MODEL_CONCURRENCY = 32;

/**
 * Concurrency limit for one provider: `LONGRUN_MODEL_CONCURRENCY_<PROVIDER>` (e.g. `_OPENAI`,
 * `_ANTHROPIC`, `_OPENAI_COMPATIBLE`), else `LONGRUN_MODEL_CONCURRENCY`, else 32.
 */
export function concurrencyFor(provider: ProviderName, env: NodeJS.ProcessEnv = process.env): number {
  const specific = `LONGRUN_MODEL_CONCURRENCY_${provider.toUpperCase().replace(/-/g, '_')}`;
  for (const name of [specific, 'LONGRUN_MODEL_CONCURRENCY']) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
    return n;
  }
  return DEFAULT_MODEL_CONCURRENCY;
}

/** One semaphore per provider, in this worker process (limits are per process, not global). */
export class ProviderLimiter {
  private readonly semaphores = new Map<ProviderName, Semaphore>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  for(provider: ProviderName): Semaphore {
    let s = this.semaphores.get(provider);
    if (!s) {
      s = new Semaphore(concurrencyFor(provider, this.env));
      this.semaphores.set(provider, s);
    }
    return s;
  }

  acquire(provider: ProviderName, signal?: AbortSignal): Promise<Release> {
    return this.for(provider).acquire(signal);
  }
}
