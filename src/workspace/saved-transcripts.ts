import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { safeName } from '../config';
import type { TranscriptRef } from '../core/types';
import { entryName, type ArtifactStore } from '../store/artifacts';
import { git, gitOut } from './git';
import { refComponent } from './names';
import { pushRefs, remoteOf } from './remote';

/**
 * A task's transcript as of its last checkpoint, where any host can read it: a task moved to another host after its
 * host is lost resumes with it (restoreTranscript). Saved per task, not per transcript: a compaction gives the
 * conversation a new transcript id (`<agent>#<n>`), and the moved task must find the one its last checkpoint covered.
 * With a remote hub it is a commit on `refs/longrun/transcripts/<task>` in the run's namespace, its tree the store's
 * entry files (`000000.json`, ...) and its subject the length and the transcript's id; saving again adds only the new
 * entries as blobs (the older ones are the same objects). Without a remote, the store is on this host or on the shared
 * filesystem already, so a small record of the id and length is enough. Entries are redacted when the store writes
 * them, and are copied as written.
 */

export interface TaskKey {
  runId: string;
  taskId: string;
}

export const transcriptRef = (taskId: string) => `refs/longrun/transcripts/${refComponent(taskId)}`;

/** Local mode: where a task's last saved transcript is recorded (the store is shared or on this host). */
const recordFile = (store: ArtifactStore, key: TaskKey) =>
  path.join(store.root, 'checkpoints', safeName(key.runId), `${safeName(key.taskId)}.json`);

const SUBJECT = /^length (\d+) of (\S+)$/;

/** The saved commit's tree, length and transcript id, or null. One `for-each-ref` process. */
async function savedCommit(hubPath: string, taskId: string): Promise<(TranscriptRef & { tree: string }) | null> {
  const out = await gitOut(hubPath, ['for-each-ref', '--format=%(tree) %(subject)', transcriptRef(taskId)]);
  const space = out.indexOf(' ');
  const m = SUBJECT.exec(out.slice(space + 1));
  return space > 0 && m ? { tree: out.slice(0, space), length: Number(m[1]), id: m[2] } : null;
}

/** `name -> blob` of a saved tree. */
async function treeEntries(hubPath: string, tree: string): Promise<Map<string, string>> {
  const out = (await git(hubPath, ['ls-tree', '-z', tree])).stdout;
  const entries = new Map<string, string>();
  for (const record of out.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab > 0) entries.set(record.slice(tab + 1), record.slice(0, tab).split(' ')[2]);
  }
  return entries;
}

/** Saves entries [0, ref.length) of the task's transcript `ref` of `store` where every host of the run can read them. */
export async function saveTranscript(
  hubPath: string,
  store: ArtifactStore,
  key: TaskKey,
  ref: TranscriptRef,
): Promise<void> {
  const remote = await remoteOf(hubPath);
  if (!remote) {
    const file = recordFile(store, key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(`${file}.${process.pid}.tmp`, JSON.stringify({ id: ref.id, length: ref.length }));
    await fs.rename(`${file}.${process.pid}.tmp`, file);
    return;
  }
  const saved = await savedCommit(hubPath, key.taskId);
  if (saved?.id === ref.id && saved.length === ref.length) return;
  // Entries below the saved length are final (the workflow moved past them); a shorter transcript, or another one
  // (compacted since), is saved anew.
  const grows = saved?.id === ref.id && saved.length < ref.length;
  const kept = grows ? await treeEntries(hubPath, saved.tree) : new Map<string, string>();
  const from = grows ? saved.length : 0;
  const files: string[] = [];
  for (let i = from; i < ref.length; i++) {
    if (!store.hasEntry(ref.id, i)) {
      throw new Error(`transcript ${ref.id} has no entry ${i} in ${store.root}: cannot save ${ref.length} entries`);
    }
    files.push(store.entryFile(ref.id, i));
  }
  const blobs = files.length
    ? (await gitOut(hubPath, ['hash-object', '-w', '--stdin-paths'], { input: `${files.join('\n')}\n` })).split('\n')
    : [];
  const listing = [...kept]
    .filter(([name]) => Number(name.slice(0, 6)) < from)
    .map(([name, blob]) => `100644 blob ${blob}\t${name}`);
  blobs.forEach((blob, i) => listing.push(`100644 blob ${blob}\t${entryName(from + i)}`));
  const tree = await gitOut(hubPath, ['mktree'], { input: listing.length ? `${listing.join('\n')}\n` : '' });
  // No parent: only the latest save matters, and its entries' blobs are shared with the earlier ones.
  const commit = await gitOut(hubPath, ['commit-tree', tree, '-m', `length ${ref.length} of ${ref.id}`]);
  await pushRefs(hubPath, remote, [{ ref: transcriptRef(key.taskId), next: commit }], 'longrun: save transcript');
}

/**
 * The task's transcript as saved at its last checkpoint, written into `store` (entries it already has are left
 * alone), or null when none was saved. The caller syncs the mirror first (requireHub).
 */
export async function restoreTranscript(
  hubPath: string,
  store: ArtifactStore,
  key: TaskKey,
): Promise<TranscriptRef | null> {
  if (!(await remoteOf(hubPath))) {
    const text = await fs.readFile(recordFile(store, key), 'utf8').catch(() => null);
    if (!text) return null;
    const { id, length } = JSON.parse(text) as TranscriptRef;
    return { id, length };
  }
  const saved = await savedCommit(hubPath, key.taskId);
  if (!saved) return null;
  const { id } = saved;
  const entries = await treeEntries(hubPath, saved.tree);
  const wanted: Array<{ index: number; blob: string }> = [];
  for (let i = 0; i < saved.length; i++) {
    const blob = entries.get(entryName(i));
    if (!blob) throw new Error(`the saved transcript ${id} lacks entry ${i} of ${saved.length}`);
    if (!store.hasEntry(id, i)) wanted.push({ index: i, blob });
  }
  if (wanted.length) {
    const out = (await git(hubPath, ['cat-file', '--batch'], { input: wanted.map((w) => `${w.blob}\n`).join('') }))
      .stdout;
    const bytes = Buffer.from(out, 'utf8');
    let at = 0;
    for (const { index } of wanted) {
      const eol = bytes.indexOf(0x0a, at);
      const size = Number(bytes.subarray(at, eol).toString('utf8').split(' ')[2]);
      const text = bytes.subarray(eol + 1, eol + 1 + size).toString('utf8');
      at = eol + 1 + size + 1;
      await store.writeEntry(id, index, JSON.parse(text));
    }
  }
  return { id, length: saved.length };
}
