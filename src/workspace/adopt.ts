import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { git, resolveCommit } from './git';

/**
 * Workspaces made by longrun v0.1.0 were linked worktrees of the hub (`<wt>/.git` a file naming
 * `<hub>/worktrees/<name>`, the task's branch living in the hub). A worker upgraded under a running run finds them in
 * flight, with the agent's uncommitted edits in them. They are adopted in place rather than recreated, so those edits
 * survive the upgrade: the working tree stays as it is, and a repository of today's kind (own refs, the hub's objects
 * borrowed through alternates) takes the place of the `.git` file, with the admin dir's HEAD, index and merge state.
 *
 * `marker` names the file both versions write into a git dir once its checkout is done; the adopted one gets today's
 * content (`{kind, hub}`) before the swap. Returns that content, or null when `wt` is not a finished linked worktree
 * of this hub: the caller then treats it as no workspace, and opening one replaces it.
 */
export async function adoptLinkedWorktree(hubPath: string, wt: string, marker: string): Promise<string | null> {
  const dotGit = path.join(wt, '.git');
  const pointer = await fs.readFile(dotGit, 'utf8').catch(() => null);
  const match = pointer?.match(/^gitdir:\s*(.+)\s*$/m);
  if (!match) return null;
  const admin = path.resolve(wt, match[1].trim());
  // Only this hub's registrations, and only those whose checkout finished (v0.1.0 wrote an empty marker then).
  if (path.dirname(admin) !== path.join(path.resolve(hubPath), 'worktrees')) return null;
  if (!(await exists(path.join(admin, marker)))) return null;

  const head = (await fs.readFile(path.join(admin, 'HEAD'), 'utf8')).trim();
  const ref = head.startsWith('ref: ') ? head.slice(5) : null;
  const commit = ref ? await resolveCommit(hubPath, ref) : head;
  if (!commit) return null;

  // Built beside the workspace, then swapped in: a crash before the swap leaves the linked worktree as it was.
  const staging = `${wt}.adopting`;
  await fs.rm(staging, { recursive: true, force: true });
  const branch = ref?.replace(/^refs\/heads\//, '') ?? 'checkout';
  await git(path.dirname(wt), ['init', '--quiet', '--template=', `--initial-branch=${branch}`, staging]);
  const gitdir = path.join(staging, '.git');
  await fs.mkdir(path.join(gitdir, 'objects', 'info'), { recursive: true });
  await fs.writeFile(path.join(gitdir, 'objects', 'info', 'alternates'), `${path.resolve(hubPath, 'objects')}\n`);
  if (ref) {
    await fs.mkdir(path.dirname(path.join(gitdir, ref)), { recursive: true });
    await fs.writeFile(path.join(gitdir, ref), `${commit}\n`);
  } else {
    await fs.writeFile(path.join(gitdir, 'HEAD'), `${commit}\n`);
  }
  for (const file of ['index', 'MERGE_HEAD', 'MERGE_MSG', 'MERGE_MODE', 'ORIG_HEAD']) {
    await fs.copyFile(path.join(admin, file), path.join(gitdir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  const ready = JSON.stringify({ kind: ref ? 'task' : 'checkout', hub: path.resolve(hubPath) });
  await fs.writeFile(path.join(gitdir, marker), ready);
  await fs.rm(dotGit);
  await fs.rename(gitdir, dotGit);
  await fs.rm(staging, { recursive: true, force: true });
  // The registration goes; the branch stays in the hub, where longrun's fetch of the workspace updates it.
  await fs.rm(admin, { recursive: true, force: true });
  return ready;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
