/**
 * Agents whose host is lost, restarted elsewhere: the parent's bookkeeping, without Temporal. A parent (a planner for
 * its children, the run for its root planner) keeps one `Watched` per child. Every check it asks which of
 * `watchedHosts` are lost; each child there is moved: its workflow is terminated (`abandonLostAgent`), then started
 * again on another host as `<child id>~m<n>`, with the same task id and spec. Exactly one outcome per child reaches
 * the parent: the one of its current attempt. A terminated attempt's failure is dropped, and an attempt that closed
 * on its own while being moved keeps its outcome (it is not restarted).
 */

/** What a moved agent is told in its input. */
export interface Moved {
  /** The host queue that was lost. */
  from: string;
  /** 1 for the first move of this child, 2 for the second... */
  count: number;
}

/** A child the parent watches. Plain data, except `held` (an outcome kept while the child is being moved). */
export interface Watched {
  /** The workflow id of the child's current attempt. */
  attempt: string;
  /** Its host queue, once it started there; absent while a host is picked or a move is decided. */
  host?: string;
  /** How often it was moved. */
  moves?: number;
  /** Set while `abandonLostAgent` runs for the current attempt. */
  moving?: boolean;
  held?: { outcome: unknown };
}

const MOVED = /~m(\d+)$/;

/** The workflow id of a child's `count`-th restart: hierarchical like every id (src/core/ids.ts). */
export function movedId(childId: string, count: number): string {
  return `${childId.replace(MOVED, '')}~m${count}`;
}

/** The distinct host queues of the children running there (not those being moved): one check covers them all. */
export function watchedHosts(children: Iterable<Watched>): string[] {
  const hosts = new Set<string>();
  for (const w of children) if (w.host && !w.moving) hosts.add(w.host);
  return [...hosts];
}

/** The children (by key) to move: on a lost host and not already being moved. */
export function toMove<K>(children: Iterable<[K, Watched]>, lost: string[]): Array<[K, Watched]> {
  const gone = new Set(lost);
  return [...children].filter(([, w]) => !!w.host && !w.moving && gone.has(w.host));
}

/** Starts moving a child: returns the attempt to abandon and the lost host. */
export function beginMove(w: Watched): { attempt: string; from: string } {
  const from = w.host!;
  w.moving = true;
  delete w.host;
  return { attempt: w.attempt, from };
}

/**
 * An attempt's outcome (a handoff, a result, a failure) arrived: 'deliver' it to the parent, or it was 'held' (the
 * attempt is being moved: `endMove` decides), or it is 'stale' (an attempt that was terminated and replaced).
 */
export function settle(w: Watched, attempt: string, outcome: unknown): 'deliver' | 'held' | 'stale' {
  if (w.attempt !== attempt) return 'stale';
  if (w.moving) {
    w.held = { outcome };
    return 'held';
  }
  return 'deliver';
}

export type MoveEnd =
  /** Terminated: start the next attempt, on a fresh host. */
  | { kind: 'restart'; workflowId: string; moved: Moved }
  /** It had closed on its own meanwhile, and its outcome came: deliver that. */
  | { kind: 'deliver'; outcome: unknown }
  /** Nothing to do now: its own outcome will come, or (the abandon failed) the next check tries again. */
  | { kind: 'wait' };

/** How a move ends, given what `abandonLostAgent` answered ('failed': it could not be asked). */
export function endMove(
  childId: string,
  w: Watched,
  from: string,
  abandoned: { terminated: boolean } | 'failed',
): MoveEnd {
  w.moving = false;
  const held = w.held;
  delete w.held;
  if (abandoned !== 'failed' && abandoned.terminated) {
    const count = (w.moves ?? 0) + 1;
    w.moves = count;
    w.attempt = movedId(childId, count);
    return { kind: 'restart', workflowId: w.attempt, moved: { from, count } };
  }
  if (held) return { kind: 'deliver', outcome: held.outcome };
  if (abandoned === 'failed') w.host = from;
  return { kind: 'wait' };
}
