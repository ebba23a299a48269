import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import versions from '../versions.json';

const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface ReleaseCheckout {
  version: string;
  commit: string;
  /** A longrun source tree of that release, runnable with `node bin/longrun.js` (ts-node, this node_modules). */
  root: string;
  remove(): void;
}

/**
 * The previous release's sources, from the repository the tests run in, by commit (test/upgrade/versions.json): tags
 * may not reach a CI clone, commits of main's history do. `git archive` leaves the repository untouched (no worktree
 * to register or prune); node_modules is this checkout's, so both versions run on the same SDK and dependencies.
 */
export function checkoutPrevious(): ReleaseCheckout {
  const { version, commit } = versions.previous;
  try {
    execFileSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    throw new Error(
      `longrun ${version} (commit ${commit}, named in test/upgrade/versions.json) is not in the clone at ${ROOT}; ` +
        `a shallow clone lacks it. Fetch the history (git fetch --unshallow, or a CI checkout with fetch-depth: 0).`,
    );
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `longrun-${version}-`));
  const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: ROOT, maxBuffer: 512 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', root], { input: tar });
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(root, 'node_modules'));
  return { version, commit, root, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
