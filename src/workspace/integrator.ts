import { retryable, WORKSPACE_ERRORS } from './errors';
import { sleep } from './git';
import { adoptGuard, checkTarget } from './guard';
import { casRef, commitTree, findTaskCommit, isAncestor, mergeTree, readTip } from './merge';
import { mergeMessage } from './names';

/**
 * Moves the target branch, one queue per hub. Racing integrators on one ref mostly lose their
 * compare-and-swap (DESIGN.md: ~6 failed swaps per merge with ten racers), so within a process
 * merges are serialized, and whatever queued up meanwhile is merged as one batch: each task gets
 * its own merge commit chained in memory (merge-tree onto the previous result), and the ref moves
 * once per batch. The CAS still guards against other processes and hosts; on a lost swap the
 * whole batch is redone on the new tip.
 *
 * A task that conflicts with the published tip is answered 'conflict'. One that only conflicts
 * with an earlier task of the same batch is deferred to the next batch instead: a conflict must be
 * resolved against a commit that is really on the target, never against an unpublished one.
 *
 * Multi-host with a remote hub (remote.ts): the CAS is an atomic push leasing the target and its guard at the tip
 * we merged onto; the server's ref transaction decides between hosts. A lost swap syncs the mirror before the
 * batch re-reads the tip.
 */

export interface MergeRequest {
  taskId: string;
  title: string;
  /** The task branch's head commit to merge. */
  head: string;
}

export type MergeOutcome =
  | { kind: 'merged'; commit: string; targetTip: string; casRetries: number }
  | { kind: 'already-merged'; commit: string }
  | { kind: 'no-changes' }
  | { kind: 'conflict'; onto: string; files: string[] };

export interface IntegratorOptions {
  /** Merges chained per ref update. 1 = strictly one merge per CAS. */
  maxBatch?: number;
  /** CAS attempts per batch before giving up with a retryable IntegrationContention. */
  maxCasAttempts?: number;
  /** Test hook: runs after a batch is merged in memory, right before its CAS. */
  beforeCas?: (info: {
    hubPath: string;
    ref: string;
    expected: string;
    next: string;
    attempt: number;
  }) => Promise<void>;
}

interface Pending {
  req: MergeRequest;
  casRetries: number;
  resolve: (outcome: MergeOutcome) => void;
  reject: (err: unknown) => void;
}

class HubQueue {
  private readonly pending: Pending[] = [];
  private draining = false;
  /** Same task + same head submitted twice (an activity attempt overlapping its retry): one merge. */
  private readonly inflight = new Map<string, Promise<MergeOutcome>>();

  constructor(
    private readonly hubPath: string,
    private readonly ref: string,
    private readonly opts: Required<Omit<IntegratorOptions, 'beforeCas'>> & Pick<IntegratorOptions, 'beforeCas'>,
  ) {}

  submit(req: MergeRequest): Promise<MergeOutcome> {
    const key = `${req.taskId}\0${req.head}`;
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const promise = new Promise<MergeOutcome>((resolve, reject) => {
      this.pending.push({ req, casRetries: 0, resolve, reject });
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    void this.drain();
    return promise;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.opts.maxBatch);
        try {
          const deferred = await this.mergeBatch(batch);
          this.pending.unshift(...deferred);
        } catch (err) {
          for (const item of batch) item.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Merges a batch and moves the ref once; settles every item except the deferred ones, which it returns. */
  private async mergeBatch(batch: Pending[]): Promise<Pending[]> {
    for (let attempt = 0; attempt < this.opts.maxCasAttempts; attempt++) {
      const tip = await readTip(this.hubPath, this.ref);
      if (tip.guard === null) await adoptGuard(this.hubPath, this.ref, tip.commit);
      else if (tip.guard !== tip.commit) {
        // Moved behind longrun's back since integrateTask looked: put it back (and log it) before merging onto it.
        await checkTarget(this.hubPath, this.ref, { detectedBy: 'integrate' });
        continue;
      }
      let head = tip.commit;
      let headTree = tip.tree;
      const settle: Array<() => void> = [];
      const deferred: Pending[] = [];
      const merged: Array<{ item: Pending; commit: string }> = [];
      for (const item of batch) {
        try {
          const { req } = item;
          const result = await mergeTree(this.hubPath, head, req.head);
          if (!result.clean) {
            if (head === tip.commit) {
              settle.push(() => item.resolve({ kind: 'conflict', onto: tip.commit, files: result.files }));
            } else deferred.push(item);
            continue;
          }
          if (result.tree === headTree && (await isAncestor(this.hubPath, req.head, head))) {
            // Nothing to add: a duplicate that landed meanwhile (from another process), or old news.
            const hit = await findTaskCommit(this.hubPath, head, req.taskId);
            settle.push(() =>
              item.resolve(hit ? { kind: 'already-merged', commit: hit.commit } : { kind: 'no-changes' }),
            );
            continue;
          }
          head = await commitTree(this.hubPath, result.tree, [head, req.head], mergeMessage(req.taskId, req.title));
          headTree = result.tree;
          merged.push({ item, commit: head });
        } catch (err) {
          settle.push(() => item.reject(err));
        }
      }
      if (merged.length) {
        await this.opts.beforeCas?.({
          hubPath: this.hubPath,
          ref: this.ref,
          expected: tip.commit,
          next: head,
          attempt,
        });
        const swapped = await casRef(
          this.hubPath,
          this.ref,
          head,
          tip.commit,
          `longrun: merge ${merged.length} task(s)`,
        );
        if (!swapped) {
          for (const item of batch) item.casRetries++;
          // Jittered backoff: the other writer is another process; don't retry in lockstep with it.
          await sleep(Math.random() * Math.min(200, 2 ** Math.min(attempt, 8)));
          continue;
        }
      }
      const targetTip = head;
      for (const { item, commit } of merged) {
        item.resolve({ kind: 'merged', commit, targetTip, casRetries: item.casRetries });
      }
      for (const fn of settle) fn();
      return deferred;
    }
    const err = retryable(
      WORKSPACE_ERRORS.integrationContention,
      `the target ${this.ref} in ${this.hubPath} moved on each of ${this.opts.maxCasAttempts} compare-and-swap attempts`,
    );
    for (const item of batch) item.reject(err);
    return [];
  }
}

export class Integrator {
  private readonly queues = new Map<string, HubQueue>();
  private readonly opts: Required<Omit<IntegratorOptions, 'beforeCas'>> & Pick<IntegratorOptions, 'beforeCas'>;

  constructor(options: IntegratorOptions = {}) {
    this.opts = {
      maxBatch: options.maxBatch ?? 32,
      maxCasAttempts: options.maxCasAttempts ?? 50,
      beforeCas: options.beforeCas,
    };
  }

  /** Merges `req.head` into `ref` of the hub. Resolves with the outcome; rejects only on git failures. */
  merge(hubPath: string, ref: string, req: MergeRequest): Promise<MergeOutcome> {
    const key = `${hubPath}\0${ref}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new HubQueue(hubPath, ref, this.opts);
      this.queues.set(key, queue);
    }
    return queue.submit(req);
  }
}
