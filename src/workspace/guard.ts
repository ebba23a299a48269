import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { RefIncident } from '../core/types';
import { git, gitOut } from './git';
import { pushRefs, remoteOf } from './remote';

/**
 * The tip guard. Agents work in their own repositories and cannot reach the hub's refs (see worktree.ts), but a
 * process outside them can (an operator's script, an agent without the sandbox naming the hub's path), and the
 * compare-and-swap in integration cannot notice: it compares with whatever the tip is now. So every tip longrun sets
 * on the target is also written to a private ref, `refs/longrun/guard/<target>`, in the same ref transaction.
 * Before each integration and verification (and after each agent command) the two must agree; when they do not,
 * the target is put back on the guard's commit and the incident is appended to the hub's incident log, which the
 * run's status, `longrun report` and the planner read.
 */

const ZERO = '0000000000000000000000000000000000000000';
const LOG = 'longrun-incidents.jsonl';
/** Incidents kept in activity results and workflow state; the log on disk keeps them all. */
export const INCIDENTS_SHOWN = 20;

export const guardRef = (ref: string) => `refs/longrun/guard/${ref.replace(/^refs\//, '')}`;

/** `update-ref --stdin` lines that move `ref` and its guard from `expected` (null: create) to `next` together. */
export function guardedUpdate(ref: string, next: string, expected: string | null): string {
  const old = expected ?? ZERO;
  return `update ${ref} ${next} ${old}\nupdate ${guardRef(ref)} ${next} ${old}\n`;
}

/** Both values in one process, so they belong to the same moment. null = the ref does not exist. */
export async function readGuarded(hubPath: string, ref: string): Promise<{ tip: string | null; guard: string | null }> {
  const guard = guardRef(ref);
  const out = await gitOut(hubPath, ['for-each-ref', '--format=%(refname) %(objectname)', ref, guard]);
  const values = new Map(out.split('\n').map((line) => line.split(' ') as [string, string]));
  return { tip: values.get(ref) ?? null, guard: values.get(guard) ?? null };
}

/** Starts guarding a target that predates the guard (a hub made by an older longrun): its tip now is the reference. */
export async function adoptGuard(hubPath: string, ref: string, tip: string): Promise<void> {
  const remote = await remoteOf(hubPath);
  if (remote) {
    await pushRefs(hubPath, remote, [{ ref: guardRef(ref), next: tip, expected: null }], 'longrun: guard the target');
    return;
  }
  await git(hubPath, ['update-ref', '-m', 'longrun: guard the target', guardRef(ref), tip, ''], { okCodes: [128] });
}

export interface Attribution {
  detectedBy: RefIncident['detectedBy'];
  taskId?: string;
  agentId?: string;
  command?: string;
}

/**
 * Checks that `ref` is where longrun last put it; if not, puts it back and records the incident. Returns the
 * incident, or null when the ref was untouched (the common case: one `for-each-ref`).
 */
export async function checkTarget(hubPath: string, ref: string, by: Attribution): Promise<RefIncident | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { tip, guard } = await readGuarded(hubPath, ref);
    if (!guard) {
      if (tip) await adoptGuard(hubPath, ref, tip);
      return null;
    }
    if (tip === guard) return null;
    // Put back by compare-and-swap from what we saw: if it moves again meanwhile, look again.
    const remote = await remoteOf(hubPath);
    if (remote) {
      // On the remote (the truth; a lost lease syncs the mirror, which also undoes a move of the mirror alone).
      const restore = [{ ref, next: guard, expected: tip }];
      if (!(await pushRefs(hubPath, remote, restore, 'longrun: restore the target'))) continue;
    } else {
      const r = await git(hubPath, ['update-ref', '-m', 'longrun: restore the target', ref, guard, tip ?? ZERO], {
        okCodes: [1, 128],
      });
      if (r.exitCode !== 0) {
        if (/but expected|is at|unable to resolve|File exists|\.lock/i.test(r.stderr)) continue;
        throw new Error(`restoring ${ref} to ${guard} in ${hubPath} failed: ${r.stderr.trim()}`);
      }
    }
    const incident: RefIncident = { at: Date.now(), ref: `hub ${ref}`, found: tip, restored: guard, ...by };
    await recordIncident(hubPath, incident);
    return incident;
  }
  throw new Error(`${ref} in ${hubPath} kept moving while longrun restored it (5 attempts)`);
}

/**
 * Appends to the hub's incident log (one JSON object per line; the hub is read-only to sandboxed agents). With a
 * remote hub the log stays per host, in its mirror: an incident is found and repaired by the host that saw it, and
 * the run's status shows the log of the host that answers.
 */
export async function recordIncident(hubPath: string, incident: RefIncident): Promise<void> {
  await fs.appendFile(path.join(hubPath, LOG), `${JSON.stringify(incident)}\n`);
}

/** The hub's incidents, oldest first; the last `max`. */
export async function readIncidents(hubPath: string, max = INCIDENTS_SHOWN): Promise<RefIncident[]> {
  const text = await fs.readFile(path.join(hubPath, LOG), 'utf8').catch(() => '');
  const all: RefIncident[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      all.push(JSON.parse(line) as RefIncident);
    } catch {
      // a line cut by a crash mid-append: the rest of the log still counts
    }
  }
  return all.slice(-max);
}
