import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalCli } from './temporal';

/**
 * Saved histories are fixtures of released versions: test/replay/<version>/<scenario>/*.json, replayed by
 * test/run/replay.test.ts against today's workflow code. Tests never write them: the end-to-end tests call
 * saveHistories, which does nothing unless `npm run replay:record` set LONGRUN_RECORD_HISTORIES to the version
 * being released, and it never overwrites a scenario already recorded for that version.
 */
export const REPLAY_DIR = path.join(__dirname, '..', 'replay');

/** The version being recorded, or null (the normal case: tests leave test/replay alone). */
export function recordingVersion(env: NodeJS.ProcessEnv = process.env): string | null {
  const version = env.LONGRUN_RECORD_HISTORIES?.trim();
  if (!version) return null;
  if (!/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`LONGRUN_RECORD_HISTORIES='${version}' is not a version like v0.2.0; use npm run replay:record`);
  }
  return version;
}

/** Every saved history, as { version, scenario, file }, in a stable order. */
export function savedHistoryFiles(root = REPLAY_DIR): Array<{ version: string; scenario: string; file: string }> {
  const dirs = (p: string) =>
    fs.existsSync(p)
      ? fs
          .readdirSync(p, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
          .sort()
      : [];
  return dirs(root).flatMap((version) =>
    dirs(path.join(root, version)).flatMap((scenario) =>
      fs
        .readdirSync(path.join(root, version, scenario))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => ({ version, scenario, file: path.join(root, version, scenario, f) })),
    ),
  );
}

/**
 * When recording, saves the histories of a run's tree under test/replay/<version>/<name>/ (one per workflow kind, at
 * most `limit`); otherwise returns 0 and writes nothing.
 */
export async function saveHistories(
  env: TestWorkflowEnvironment,
  runId: string,
  name: string,
  limit = 12,
): Promise<number> {
  const version = recordingVersion();
  if (!version) return 0;
  const dir = path.join(REPLAY_DIR, version, name);
  if (fs.existsSync(dir)) throw new Error(`${dir} exists: histories of a recorded version are never rewritten`);
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let n = 0;
  const seen = new Set<string>();
  for await (const wf of env.client.workflow.list({
    query: `WorkflowId = "${runId}" OR WorkflowId STARTS_WITH "${runId}/"`,
  })) {
    // One history per workflow type/kind is enough to cover the code paths; keep the set small.
    const kind = wf.workflowId === runId ? 'run' : wf.workflowId.replace(/\d+/g, 'N');
    const key = `${kind}:${wf.runId}`;
    if (seen.has(key) || n >= limit) continue;
    seen.add(key);
    const history = execFileSync(
      temporalCli(),
      ['workflow', 'show', '--address', env.address, '-w', wf.workflowId, '-r', wf.runId, '--output', 'json'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    const file = path.join(
      tmp,
      `${String(n++).padStart(2, '0')}-${wf.workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`,
    );
    fs.writeFileSync(file, JSON.stringify({ workflowId: wf.workflowId, history: JSON.parse(history) }));
  }
  fs.renameSync(tmp, dir);
  return n;
}
