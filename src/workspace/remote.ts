import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { git, GitError } from './git';
import { isLocalRepo, refComponent } from './names';

/**
 * The hub as a git remote (LONGRUN_HUB_URL, docs/scaling.md#remote-hub). The run's hub directory under LONGRUN_HOME
 * stays what the rest of the workspace code works on, but becomes this host's mirror and object cache of the run's
 * refs on the remote, which is the truth for them. One remote holds many runs, each in its own namespace:
 *
 *   mirror refs/heads/*    <->  remote refs/longrun/runs/<runId>/heads/*    (the target, task branches)
 *   mirror refs/longrun/*  <->  remote refs/longrun/runs/<runId>/meta/*     (guard, base, published, known red,
 *                                                                            transcripts)
 *
 * Reading: each entry point syncs the mirror first (a forced, pruning fetch of the namespace, coalesced per mirror).
 * Writing: the remote first (one atomic push, with a lease per ref when the write is a compare-and-swap), then the
 * mirror. A lost lease syncs the mirror and answers false, so the caller re-reads fresh refs and tries again.
 * A mirror records its run and remote in `longrun-remote.json` (the URL without credentials: agents can read the
 * hub's files), so code that only has the hub's path knows it is a mirror; a local hub has no such file. The full
 * URL comes from LONGRUN_HUB_URL through the entry points (hubRemote in hub.ts), which tell this module.
 */

export interface HubRemote {
  url: string;
  runId: string;
}

const BINDING = 'longrun-remote.json';
/** Per hub path: its remote, or null for a local hub. Filled by bindRemote and on first read. */
const bindings = new Map<string, HubRemote | null>();

/** A URL as errors show it: credentials in it (`https://user:token@host/...`) are not, since errors reach history. */
export const shownUrl = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');

const scrub = (text: string, url: string) => text.split(url).join(shownUrl(url));

/** A path (relative to the worker's cwd) made absolute: every git process of the worker must reach the same repo. */
export function normalizeHubUrl(url: string): string {
  const trimmed = url.trim();
  return isLocalRepo(trimmed) && !trimmed.startsWith('file://') ? path.resolve(trimmed) : trimmed;
}

/**
 * What a hub's binding file records: the run and the remote's URL as shown (no credentials: agents can read the hub's
 * files). null when the hub has no binding (a local hub, or none yet).
 */
export async function readBinding(hubPath: string): Promise<HubRemote | null> {
  const text = await fs.readFile(path.join(path.resolve(hubPath), BINDING), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as HubRemote); // never torn: written beside and renamed
}

/** Tells this process the full remote of a mirror (from LONGRUN_HUB_URL, which the binding holds only as shown). */
export function rememberRemote(hubPath: string, remote: HubRemote): void {
  bindings.set(path.resolve(hubPath), remote);
}

/**
 * The hub's remote, or null when the hub is local only. No git process: one small file, read once per process. A
 * mirror whose URL carries credentials needs LONGRUN_HUB_URL on this worker (an entry point remembers it).
 */
export async function remoteOf(hubPath: string): Promise<HubRemote | null> {
  const key = path.resolve(hubPath);
  const known = bindings.get(key);
  if (known !== undefined) return known;
  const bound = await readBinding(key);
  if (!bound) {
    // Only an existing hub is known to be local: a missing one may yet be made a mirror (by another process too).
    const exists = await fs.access(path.join(key, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (exists) bindings.set(key, null);
    return null;
  }
  if (bound.url.includes('***@')) {
    throw nonRetryable(
      WORKSPACE_ERRORS.invalidHubUrl,
      `the hub ${key} mirrors ${bound.url}, but this worker has no LONGRUN_HUB_URL: set it (with its credentials) ` +
        `as on the worker that made the mirror`,
    );
  }
  bindings.set(key, bound);
  return bound;
}

/** Records (in memory, and in the mirror without credentials) that `hubPath` mirrors `remote`. */
export async function bindRemote(hubPath: string, remote: HubRemote): Promise<void> {
  const key = path.resolve(hubPath);
  const file = path.join(key, BINDING);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify({ ...remote, url: shownUrl(remote.url) }));
  await fs.rename(tmp, file);
  bindings.set(key, remote);
}

/** refComponent: a run id may hold '..' or end in '.lock', which git refuses in a ref name. */
export const runNamespace = (runId: string) => `refs/longrun/runs/${refComponent(runId)}`;

/** The remote's name for a ref of the mirror. */
export function remoteRef(runId: string, ref: string): string {
  if (ref.startsWith('refs/heads/')) return `${runNamespace(runId)}/heads/${ref.slice('refs/heads/'.length)}`;
  if (ref.startsWith('refs/longrun/')) return `${runNamespace(runId)}/meta/${ref.slice('refs/longrun/'.length)}`;
  throw new Error(`${ref} is not a ref the remote hub keeps (only refs/heads/* and refs/longrun/*)`);
}

const fetchSpecs = (runId: string) => [
  `+${runNamespace(runId)}/heads/*:refs/heads/*`,
  `+${runNamespace(runId)}/meta/*:refs/longrun/*`,
];

/**
 * Makes `hubPath` an empty mirror of `remote` (a host joining a run), then syncs it. Created beside and renamed, so
 * a crash leaves no half mirror; a racing creator's mirror is kept.
 */
export async function createMirror(hubPath: string, remote: HubRemote): Promise<void> {
  await fs.mkdir(path.dirname(hubPath), { recursive: true });
  await probeRemote(path.dirname(hubPath), remote);
  const tmp = `${hubPath}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await git(path.dirname(hubPath), ['init', '--quiet', '--bare', '--template=', tmp]);
    // As a cloned hub: many git processes share it, so no auto-gc under them.
    await git(tmp, ['config', 'gc.auto', '0']);
    await git(tmp, ['config', 'maintenance.auto', 'false']);
    await fs.writeFile(path.join(tmp, BINDING), JSON.stringify({ ...remote, url: shownUrl(remote.url) }));
    await fs.rename(tmp, hubPath).catch(async (err: NodeJS.ErrnoException) => {
      const exists = await fs.access(path.join(hubPath, 'HEAD')).then(
        () => true,
        () => false,
      );
      if (!exists) throw err;
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  const bound = await readBinding(hubPath);
  if (bound?.url !== shownUrl(remote.url)) throw new Error(`the hub ${hubPath} exists but does not mirror the remote`);
  rememberRemote(hubPath, remote);
  await syncHub(hubPath, remote);
}

/**
 * Per mirror: the fetch running now, and at most one queued behind it. A caller arriving while one runs waits for the
 * queued one (which starts after the running one ends, so it sees every write the caller saw happen); callers
 * arriving meanwhile share it. N concurrent entry points on one host cost at most two fetches, not N.
 */
const running = new Map<string, Promise<void>>();
const queued = new Map<string, Promise<void>>();

export function syncHub(hubPath: string, remote: HubRemote): Promise<void> {
  const key = path.resolve(hubPath);
  const waiting = queued.get(key);
  if (waiting) return waiting;
  const current = running.get(key);
  if (!current) return startSync(key, remote);
  const next = current
    .catch(() => undefined)
    .then(() => {
      queued.delete(key);
      return startSync(key, remote);
    });
  queued.set(key, next);
  return next;
}

function startSync(key: string, remote: HubRemote): Promise<void> {
  const work = fetchRun(key, remote).finally(() => {
    if (running.get(key) === work) running.delete(key);
  });
  running.set(key, work);
  return work;
}

async function fetchRun(hubPath: string, remote: HubRemote): Promise<void> {
  const r = await git(
    hubPath,
    ['fetch', '--quiet', '--no-tags', '--prune', '--no-write-fetch-head', remote.url, ...fetchSpecs(remote.runId)],
    { okCodes: [1, 128] },
  );
  if (r.exitCode !== 0) throw remoteError(`syncing the hub ${hubPath} from`, r.stderr, remote);
}

/**
 * The remote answers as a git repository, before a host makes anything from it: a mistyped LONGRUN_HUB_URL fails the
 * run's preparation with the fix, and leaves no mirror bound to the wrong remote behind. `cwd` is any directory.
 */
export async function probeRemote(cwd: string, remote: HubRemote): Promise<void> {
  const r = await git(cwd, ['ls-remote', remote.url, `${runNamespace(remote.runId)}/heads/*`], {
    okCodes: [1, 2, 128],
  });
  if (r.exitCode !== 0) throw remoteError('reaching', r.stderr, remote);
}

/** A remote that is not a repository is the operator's to fix (non-retryable); anything else may pass (retried). */
function remoteError(doing: string, stderr: string, remote: HubRemote): Error {
  if (/does not appear to be a git repository|repository .* not found|no such repository/i.test(stderr)) {
    return nonRetryable(
      WORKSPACE_ERRORS.invalidHubUrl,
      scrub(
        `LONGRUN_HUB_URL=${remote.url} is not a git repository (${stderr.trim().slice(0, 300)}); create it ` +
          `(git init --bare) or point LONGRUN_HUB_URL at one every host reaches`,
        remote.url,
      ),
    );
  }
  return new Error(scrub(`${doing} ${remote.url} failed (will retry): ${stderr.trim()}`, remote.url));
}

/** One ref write: `next` null deletes; `expected` undefined forces, null requires the ref absent, a sha leases it. */
export interface RefWrite {
  ref: string;
  next: string | null;
  expected?: string | null;
}

/** What a push rejected because the remote's ref was not what we leased (or another push held it right then). */
const LOST_LEASE =
  /stale info|atomic push failed|fetch first|non-fast-forward|failed to update ref|failed to lock|cannot lock ref|incorrect old value|reference already exists/i;

const SERVER_LOST = /but expected|is at [0-9a-f]+|reference already exists|\.lock|unable to create/i;

/**
 * Writes refs to the remote in one atomic push, then to the mirror. True when written; false when a lease was lost
 * (the mirror is synced first, so the caller's next read sees the remote's values). The objects must be in the
 * mirror. `reflog` keeps a reflog for the mirror's copies (the published refs).
 */
export async function pushRefs(
  hubPath: string,
  remote: HubRemote,
  writes: RefWrite[],
  reason: string,
  opts: { reflog?: boolean } = {},
): Promise<boolean> {
  const args = ['push', '--porcelain', '--atomic', '--no-verify', remote.url];
  for (const w of writes) {
    const theirs = remoteRef(remote.runId, w.ref);
    args.push(`${w.expected === undefined ? '+' : ''}${w.next ?? ''}:${theirs}`);
    if (w.expected !== undefined) args.push(`--force-with-lease=${theirs}:${w.expected ?? ''}`);
  }
  const r = await git(hubPath, args, { okCodes: [1, 128] });
  if (r.exitCode !== 0) {
    const rejected = r.stdout.split('\n').filter((line) => line.startsWith('!'));
    // The server's own ref transaction failed: lost when its old value did not match, or another push held the lock.
    const serverLost = /atomic transaction failed/.test(r.stdout) && SERVER_LOST.test(r.stderr);
    if (rejected.length && (serverLost || rejected.every((line) => LOST_LEASE.test(line)))) {
      await syncHub(hubPath, remote);
      return false;
    }
    const shown = args.map((arg) => scrub(arg, remote.url));
    throw new GitError(shown, r.exitCode, r.stdout, scrub(`${r.stderr}\n${r.stdout}`, remote.url));
  }
  const lines = writes.map((w) => (w.next ? `update ${w.ref} ${w.next}\n` : `delete ${w.ref}\n`)).join('');
  await git(hubPath, ['update-ref', '-m', reason, ...(opts.reflog ? ['--create-reflog'] : []), '--stdin'], {
    input: lines,
  });
  return true;
}
