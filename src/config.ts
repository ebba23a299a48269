import * as os from 'node:os';
import * as path from 'node:path';

/** Worker-side configuration, read from the environment once per process. */
export interface LongrunConfig {
  /** State dir: hub repos, worktrees, artifacts, the dev server's database. */
  home: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /**
   * LONGRUN_HUB_URL: a git remote holding every run's refs (docs/scaling.md#remote-hub). Unset: each run's hub is
   * the local bare repository only. Set: that repository is this host's mirror of the run's refs on the remote.
   */
  hubUrl?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LongrunConfig {
  return {
    home: path.resolve(env.LONGRUN_HOME || path.join(os.homedir(), '.longrun')),
    temporalAddress: env.TEMPORAL_ADDRESS || 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.LONGRUN_TASK_QUEUE || 'longrun',
    ...(env.LONGRUN_HUB_URL?.trim() ? { hubUrl: env.LONGRUN_HUB_URL.trim() } : {}),
  };
}

/** Where things live under the state dir. One function so no module invents its own layout. */
export const paths = {
  hub: (home: string, runId: string) => path.join(home, 'hubs', `${safeName(runId)}.git`),
  worktree: (home: string, runId: string, taskId: string) =>
    path.join(home, 'worktrees', safeName(runId), safeName(taskId)),
  worktrees: (home: string, runId: string) => path.join(home, 'worktrees', safeName(runId)),
  /** Per-run caches (counted in the run's disk use; removed with the run's state). */
  caches: (home: string, runId: string) => path.join(home, 'caches', safeName(runId)),
  artifacts: (home: string) => path.join(home, 'artifacts'),
  temporalDb: (home: string) => path.join(home, 'temporal', 'dev.sqlite'),
  /** Where `longrun dev` records the address and Web UI URL of the server it started, for the CLI's links. */
  devServer: (home: string) => path.join(home, 'temporal', 'dev-server.json'),
  temporalCli: (home: string) => path.join(home, 'temporal-cli'),
};

/** Workflow ids contain '/', which must not become directories. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
