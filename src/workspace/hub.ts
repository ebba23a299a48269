import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../config';
import type { HubInfo, RefIncident } from '../core/types';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { git, gitOut, GitError, readBranch, resolveCommit, simpleGitAt } from './git';
import { adoptGuard, checkTarget, guardedUpdate, guardRef, readIncidents, recordIncident } from './guard';
import { KeyedMutex } from './mutex';
import { headRef, isLocalRepo, targetBranch } from './names';
import {
  bindRemote,
  createMirror,
  normalizeHubUrl,
  probeRemote,
  pushRefs,
  readBinding,
  rememberRemote,
  remoteOf,
  shownUrl,
  syncHub,
  type HubRemote,
} from './remote';

/**
 * The hub: one bare repository per run under the state dir, cloned from the user's repository.
 * Worktrees, checkpoints and the target branch all live here; the user's repository only ever
 * receives `longrun/<runId>` from publishTarget.
 *
 * Multi-host: the hub path is under LONGRUN_HOME; put it on shared storage, or set LONGRUN_HUB_URL: the hub is then
 * this host's mirror of the run's refs on that remote, synced at each entry point and written through (remote.ts).
 */

const hubLocks = new KeyedMutex();

export async function hubExists(hubPath: string): Promise<boolean> {
  try {
    await fs.access(path.join(hubPath, 'HEAD'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The remote a run's hub mirrors: the one it was made with, else `hubUrl` (LONGRUN_HUB_URL) for a hub not made yet;
 * null for a local hub. A mirror of another remote, or a local hub while `hubUrl` is set, is an operator's mistake.
 */
export async function hubRemote(hubPath: string, runId: string, hubUrl?: string): Promise<HubRemote | null> {
  if (!hubUrl) return remoteOf(hubPath);
  const url = normalizeHubUrl(hubUrl);
  const bound = await readBinding(hubPath);
  if (bound && bound.url !== shownUrl(url)) {
    throw nonRetryable(
      WORKSPACE_ERRORS.invalidHubUrl,
      `LONGRUN_HUB_URL=${shownUrl(hubUrl)}, but the hub ${hubPath} mirrors ${bound.url}: give every worker the ` +
        `same LONGRUN_HUB_URL, or move ${hubPath} away to make a new mirror`,
    );
  }
  if (!bound && (await hubExists(hubPath))) {
    throw nonRetryable(
      WORKSPACE_ERRORS.invalidHubUrl,
      `LONGRUN_HUB_URL is set, but run '${runId}' has a local hub at ${hubPath} (made without it): finish the run ` +
        `with LONGRUN_HUB_URL unset, or start a new run`,
    );
  }
  const remote = { url, runId };
  if (bound) rememberRemote(hubPath, remote);
  return remote;
}

/** Where a run's hub is on this host (a mirror when remote), without checking it exists. */
export const hubPathOf = (home: string, runId: string) => paths.hub(home, runId);

/**
 * The hub of a run, or a non-retryable error saying prepareHub has to run first. With a remote hub, the mirror is
 * synced first, and made on a host that has none yet (how a second host joins a run).
 */
export async function requireHub(home: string, runId: string, hubUrl?: string): Promise<string> {
  const hubPath = paths.hub(home, runId);
  const remote = await hubRemote(hubPath, runId, hubUrl);
  if (remote) {
    if (await hubExists(hubPath)) await syncHub(hubPath, remote);
    else await createMirror(hubPath, remote);
    return hubPath;
  }
  if (!(await hubExists(hubPath))) {
    throw nonRetryable(
      WORKSPACE_ERRORS.hubMissing,
      `no hub repository for run '${runId}' at ${hubPath}: prepareHub must run first on this host ` +
        `(hubs live under LONGRUN_HOME=${home}; on several hosts, put LONGRUN_HOME on shared storage)`,
    );
  }
  return hubPath;
}

/**
 * Problems with a local repository path, as sentences naming the field and the fix; [] when fine.
 * URLs are not checked here (that needs the network): prepareHub reports their clone errors.
 */
export async function inspectRepo(repo: string): Promise<string[]> {
  if (!repo || !repo.trim()) return ['repo is empty: pass the path of a git repository or a git URL'];
  if (!isLocalRepo(repo)) return [];
  const dir = path.resolve(repo.replace(/^file:\/\//, ''));
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat) return [`repo: ${dir} does not exist; pass the path of an existing git repository`];
  if (!stat.isDirectory()) return [`repo: ${dir} is a file, not a directory; pass the repository's directory`];
  const probe = await git(dir, ['rev-parse', '--is-bare-repository', '--show-toplevel'], { okCodes: [128] });
  if (probe.exitCode !== 0) {
    return [
      `repo: ${dir} is not a git repository; run \`git init && git add -A && git commit\` there, or pass another path`,
    ];
  }
  const [bare, top] = probe.stdout.trim().split('\n');
  if (bare !== 'true' && top && (await fs.realpath(top)) !== (await fs.realpath(dir))) {
    return [`repo: ${dir} is inside the git repository ${top}, not its root; pass ${top}`];
  }
  const anyCommit = await gitOut(dir, ['rev-list', '-n', '1', '--all']);
  if (!anyCommit) return [`repo: ${dir} has no commits; commit something first (git add -A && git commit -m init)`];
  return [];
}

async function cloneHub(repo: string, hubPath: string): Promise<void> {
  await fs.mkdir(path.dirname(hubPath), { recursive: true });
  // Clone beside the final path and rename: a crash mid-clone leaves no half hub that looks valid.
  const tmp = `${hubPath}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await simpleGitAt(path.dirname(hubPath)).clone(repo, tmp, ['--bare', '--quiet']);
    // Many git processes share the hub: an auto-gc repacking under them would cost seconds and take locks.
    await git(tmp, ['config', 'gc.auto', '0']);
    await git(tmp, ['config', 'maintenance.auto', 'false']);
    await fs.rename(tmp, hubPath).catch(async (err: NodeJS.ErrnoException) => {
      if (!(await hubExists(hubPath))) throw err; // another process won the race: use its hub
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (isLocalRepo(repo) || /not found|does not exist|not appear to be a git repository/i.test(msg)) {
      throw nonRetryable(WORKSPACE_ERRORS.invalidRepo, `repo: cloning ${repo} failed: ${msg.trim().slice(0, 500)}`);
    }
    throw new Error(`cloning ${repo} into the hub failed (will retry): ${msg}`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** The commit the run starts from, present in the hub. */
async function resolveBase(repo: string, hubPath: string, base: string | undefined, mirror = false): Promise<string> {
  const rev = base?.trim() || 'HEAD';
  const local = isLocalRepo(repo);
  // A local repo answers for its own refs (remote-tracking refs, HEAD~2, a detached HEAD) that a bare clone lacks.
  const where = local ? path.resolve(repo.replace(/^file:\/\//, '')) : hubPath;
  let sha = await resolveCommit(where, rev);
  if (!sha && !local && (base || mirror)) {
    // A mirror's sync prunes the branches its clone had, and a joined mirror has no `origin`: ask the repo itself.
    await git(hubPath, ['fetch', '--quiet', mirror ? repo : 'origin', mirror ? rev : base!], { okCodes: [1, 128] });
    sha = await resolveCommit(hubPath, 'FETCH_HEAD');
  }
  if (!sha) {
    if (base) {
      throw nonRetryable(
        WORKSPACE_ERRORS.invalidBase,
        `base: '${base}' names no commit in ${repo}; pass a branch, tag or commit sha that exists there ` +
          `(check with \`git -C ${where} rev-parse ${base}\`), or omit base to start from HEAD`,
      );
    }
    throw nonRetryable(
      WORKSPACE_ERRORS.invalidRepo,
      `repo: ${repo} has no commit on HEAD (unborn branch); commit first, or pass base naming a branch with commits`,
    );
  }
  if (local && !(await resolveCommit(hubPath, sha))) {
    await git(hubPath, ['fetch', '--quiet', where, sha]);
  }
  return sha;
}

export interface PrepareHubInput {
  home: string;
  runId: string;
  repo: string;
  base?: string;
  /** LONGRUN_HUB_URL: the hub is a mirror of the run's refs there (remote.ts). */
  hubUrl?: string;
}

/** Where a mirror records the run's base commit (a local hub keeps it in `git config longrun.base`). */
export const BASE_REF = 'refs/longrun/base';

/**
 * Creates the run's hub and target branch, idempotently: a second call (or a resumed run) finds
 * both and keeps the target's current tip.
 */
export async function prepareHub({ home, runId, repo, base, hubUrl }: PrepareHubInput): Promise<HubInfo> {
  const hubPath = paths.hub(home, runId);
  const branch = targetBranch(runId);
  return hubLocks.run(hubPath, async () => {
    const remote = await hubRemote(hubPath, runId, hubUrl);
    if (remote) return prepareMirror(hubPath, remote, repo, base);
    if (!(await hubExists(hubPath))) {
      const problems = await inspectRepo(repo);
      if (problems.length) throw nonRetryable(WORKSPACE_ERRORS.invalidRepo, problems.join('; '));
      await cloneHub(repo, hubPath);
    }
    const recorded = (await git(hubPath, ['config', '--get', 'longrun.base'], { okCodes: [1] })).stdout.trim();
    const tip = await resolveCommit(hubPath, headRef(branch));
    if (tip) await adoptGuard(hubPath, headRef(branch), tip); // a no-op unless the hub predates the guard
    if (tip && recorded) return { hubPath, targetBranch: branch, baseCommit: recorded };

    const baseCommit = recorded || (await resolveBase(repo, hubPath, base));
    if (!tip) {
      // Create-only (old value = empty), with its guard: if another process created it meanwhile, its tip stands.
      await git(hubPath, ['update-ref', '-m', 'longrun: start run', '--stdin'], {
        input: guardedUpdate(headRef(branch), baseCommit, null),
        okCodes: [128],
      });
      if (!(await resolveCommit(hubPath, headRef(branch)))) throw new Error(`could not create ${branch} in ${hubPath}`);
    }
    await git(hubPath, ['config', 'longrun.base', baseCommit]);
    await git(hubPath, ['config', 'longrun.repo', repo]);
    return { hubPath, targetBranch: branch, baseCommit };
  });
}

/**
 * prepareHub with a remote hub. The first host clones the user's repository into its mirror (its objects), then
 * creates the target, its guard and the base record on the remote, create-only and atomically; a host that loses
 * that race (or a retry) takes the remote's values.
 */
async function prepareMirror(hubPath: string, remote: HubRemote, repo: string, base?: string): Promise<HubInfo> {
  const branch = targetBranch(remote.runId);
  const target = headRef(branch);
  if (!(await hubExists(hubPath))) {
    const problems = await inspectRepo(repo);
    if (problems.length) throw nonRetryable(WORKSPACE_ERRORS.invalidRepo, problems.join('; '));
    await fs.mkdir(path.dirname(hubPath), { recursive: true });
    await probeRemote(path.dirname(hubPath), remote);
    await cloneHub(repo, hubPath);
    await bindRemote(hubPath, remote);
  }
  await syncHub(hubPath, remote);
  for (let attempt = 0; attempt < 3; attempt++) {
    const tip = await resolveCommit(hubPath, target);
    const recorded = await resolveCommit(hubPath, BASE_REF);
    if (tip && recorded) return { hubPath, targetBranch: branch, baseCommit: recorded };
    const baseCommit = recorded ?? (await resolveBase(repo, hubPath, base, true));
    const writes = [
      ...(tip ? [] : [target, guardRef(target)].map((ref) => ({ ref, next: baseCommit, expected: null }))),
      ...(recorded ? [] : [{ ref: BASE_REF, next: baseCommit, expected: null }]),
    ];
    await pushRefs(hubPath, remote, writes, 'longrun: start run'); // lost: the sync brought the winner's refs
  }
  throw new Error(`could not create ${branch} and ${BASE_REF} on ${shownUrl(remote.url)} (3 attempts)`);
}

/** The run's base commit as the hub records it. */
async function baseOf(hubPath: string): Promise<string> {
  if (await remoteOf(hubPath)) return (await resolveCommit(hubPath, BASE_REF)) ?? '';
  return gitOut(hubPath, ['config', 'longrun.base']);
}

/** The target branch's current commit. */
export async function targetTip(home: string, runId: string, hubUrl?: string): Promise<string> {
  return readTarget(await requireHub(home, runId, hubUrl), runId);
}

/** The target's commit as the hub (synced by the caller's requireHub) has it. */
export async function readTarget(hubPath: string, runId: string): Promise<string> {
  const tip = await readBranch(hubPath, headRef(targetBranch(runId)));
  if (!tip) {
    throw nonRetryable(
      WORKSPACE_ERRORS.hubMissing,
      `the hub ${hubPath} has no branch ${targetBranch(runId)}: prepareHub must run first for run '${runId}'`,
    );
  }
  return tip;
}

/**
 * Pushes a commit of the target branch to the user's repository: by default the tip as `longrun/<runId>`; with
 * `as: 'green'`, `commit` (a commit of the target a check found green) as `longrun/<runId>`; with `as: 'tip'`, the
 * tip as `longrun/<runId>-tip`. Force is fine (the branches are ours); nothing else there is touched: no checkout,
 * no other ref, no working tree. Guarded like the target: the hub's target is checked first, and the user's branch
 * must be absent or a commit longrun published (anything between the last recorded publish and this one, so a crash
 * between the push and the record is not an incident); otherwise the push restores it and the incident is logged.
 * Returns the run's latest incidents (the hub's log), for the run's status and report.
 */
export async function publishTarget(
  home: string,
  runId: string,
  repo: string,
  opts: { as?: 'green' | 'tip'; commit?: string; hubUrl?: string } = {},
): Promise<{ branch: string; commit: string; incidents: RefIncident[] }> {
  const hubPath = await requireHub(home, runId, opts.hubUrl);
  const target = targetBranch(runId);
  const branch = opts.as === 'tip' ? tipBranch(runId) : target;
  await checkTarget(hubPath, headRef(target), { detectedBy: 'publish' });
  const tip = await readTarget(hubPath, runId);
  const commit = opts.as === 'green' && opts.commit ? await commitOfTarget(hubPath, opts.commit, tip) : tip;
  const problems = await inspectRepo(repo);
  if (problems.length) throw nonRetryable(WORKSPACE_ERRORS.invalidRepo, problems.join('; '));
  const theirs = await publishedThere(hubPath, repo, headRef(branch));
  if (theirs && !(await wasPublished(hubPath, branch, theirs, commit))) {
    await recordIncident(hubPath, {
      at: Date.now(),
      ref: `repo ${headRef(branch)}`,
      found: theirs,
      restored: commit,
      detectedBy: 'publish',
    });
  }
  try {
    // `+commit:ref` pushes the exact sha we report, even if the target moves during the push.
    await simpleGitAt(hubPath).push(repo, `+${commit}:${headRef(branch)}`, ['--quiet', '--no-verify']);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/refusing to update checked out branch|denyCurrentBranch/i.test(msg)) {
      throw nonRetryable(
        WORKSPACE_ERRORS.publishRejected,
        `repo: ${repo} has ${branch} checked out, so git refuses to update it; check out another branch there and publish again`,
      );
    }
    throw err;
  }
  // With a reflog: every commit ever published stays inspectable (`git reflog` on it in the hub; a mirror's reflog
  // holds what this host published, the remote's ref the latest).
  const remote = await remoteOf(hubPath);
  if (remote) {
    const write = { ref: publishedRef(branch), next: commit };
    await pushRefs(hubPath, remote, [write], 'longrun: published', { reflog: true });
  } else {
    await git(hubPath, ['update-ref', '--create-reflog', '-m', 'longrun: published', publishedRef(branch), commit]);
  }
  return { branch, commit, incidents: await readIncidents(hubPath) };
}

/** Where the latest tip is published, green or not: the name says it is not the verified branch. */
export const tipBranch = (runId: string) => `${targetBranch(runId)}-tip`;

/** `rev` resolved, when it is the tip or one of its ancestors: only the target's own commits are published. */
async function commitOfTarget(hubPath: string, rev: string, tip: string): Promise<string> {
  const sha = await resolveCommit(hubPath, rev);
  const onTarget =
    sha && (await git(hubPath, ['merge-base', '--is-ancestor', sha, tip], { okCodes: [1, 128] })).exitCode === 0;
  if (!sha || !onTarget) {
    throw nonRetryable(WORKSPACE_ERRORS.invalidRevision, `commit: '${rev}' is not a commit of the target branch`);
  }
  return sha;
}

const publishedRef = (branch: string) => `refs/longrun/published/${branch}`;

/** The commit the user's repository has on `ref`, or null when it has none. */
async function publishedThere(hubPath: string, repo: string, ref: string): Promise<string | null> {
  const out = await gitOut(hubPath, ['ls-remote', '--end-of-options', repo, ref]);
  const line = out.split('\n').find((l) => l.endsWith(`\t${ref}`));
  return line ? line.split('\t')[0] : null;
}

/** `theirs` is the last commit longrun published, or a later tip of the target up to `commit`. */
async function wasPublished(hubPath: string, branch: string, theirs: string, commit: string): Promise<boolean> {
  const last = (await resolveCommit(hubPath, publishedRef(branch))) ?? (await baseOf(hubPath));
  if (theirs === last) return true;
  const ancestor = async (a: string, b: string) =>
    (await git(hubPath, ['merge-base', '--is-ancestor', a, b], { okCodes: [1, 128] })).exitCode === 0;
  return (await ancestor(last, theirs)) && (await ancestor(theirs, commit));
}

const DIFFSTAT_MAX = 8_000;

/** `git diff --stat from..to` (to defaults to the target tip), capped for workflow state and reports. */
export async function diffStat(
  home: string,
  runId: string,
  from: string,
  to?: string,
  hubUrl?: string,
): Promise<string> {
  const hubPath = await requireHub(home, runId, hubUrl);
  const end = to ?? (await readTarget(hubPath, runId));
  for (const [field, rev] of [
    ['from', from],
    ['to', end],
  ] as const) {
    if (!(await resolveCommit(hubPath, rev))) {
      throw nonRetryable(WORKSPACE_ERRORS.invalidRevision, `${field}: '${rev}' names no commit in the hub ${hubPath}`);
    }
  }
  try {
    const out = await gitOut(hubPath, ['diff', '--stat=120', '--end-of-options', from, end]);
    return out.length > DIFFSTAT_MAX ? `${out.slice(0, DIFFSTAT_MAX)}\n[... diff stat cut ...]` : out;
  } catch (err) {
    if (err instanceof GitError) throw new Error(`diff stat ${from}..${end} failed: ${err.stderr.trim()}`);
    throw err;
  }
}
