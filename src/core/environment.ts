/** The run's dependency setup as the Web UI details and `longrun status` show it (pure: workflows import it). */

/** The setup command the run chose for its base commit (null: none), how it was chosen, and its kept output. */
export interface RunEnvironment {
  command: string | null;
  /** 'input' (the run's `setup`), or the ecosystem detected from the lockfiles ('npm', 'uv'...). */
  source: string | null;
  /** The setup log in the artifact store (on the host that ran it; the state dir is shared by a run's hosts). */
  log: string | null;
}

/** "setup: `npm ci` (detected: npm), log: /path" or "setup: none". */
export function describeEnvironment(env: RunEnvironment): string {
  if (!env.command) return 'setup: none';
  const how = env.source === 'input' ? 'the run\'s "setup"' : `detected: ${env.source}`;
  return `setup: \`${env.command}\` (${how})${env.log ? `, log: ${env.log}` : ''}`;
}
