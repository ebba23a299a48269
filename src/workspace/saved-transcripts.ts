import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { TranscriptRef } from '../core/types';
import { entryName, type ArtifactStore } from '../store/artifacts';
import { git, gitOut } from './git';
import { refComponent } from './names';
import { pushRefs, remoteOf } from './remote';

/**
 * An agent's transcript as of its last checkpoint, where any host can read it: an agent moved to another host after
 * its host is lost resumes with it (restoreTranscript). With a remote hub it is a commit on
 * `refs/longrun/transcripts/<id>` in the run's namespace, its tree the store's entry files (`000000.json`, ...)
 * and its subject the length; saving again adds only the new entries as blobs (the older ones are the same
 * objects). Without a remote, the store is on this host or on the shared filesystem already, so a small record of the
 * length beside the entries is enough. Entries are redacted when the store writes them, and are copied as written.
 */

export const transcriptRef = (id: string) => `refs/longrun/transcripts/${refComponent(id)}`;

const LENGTH = /^length (\d+)$/;

/** The saved commit's tree and length, or null. One `for-each-ref` process. */
async function savedCommit(hubPath: string, id: string): Promise<{ tree: string; length: number } | null> {
  const out = await gitOut(hubPath, ['for-each-ref', '--format=%(tree) %(subject)', transcriptRef(id)]);
  const space = out.indexOf(' ');
  const length = LENGTH.exec(out.slice(space + 1))?.[1];
  return space > 0 && length !== undefined ? { tree: out.slice(0, space), length: Number(length) } : null;
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

/** Saves entries [0, ref.length) of a transcript of `store` where every host of the run can read them. */
export async function saveTranscript(hubPath: string, store: ArtifactStore, ref: TranscriptRef): Promise<void> {
  const remote = await remoteOf(hubPath);
  if (!remote) {
    const file = store.checkpointFile(ref.id);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(`${file}.tmp`, JSON.stringify({ id: ref.id, length: ref.length }));
    await fs.rename(`${file}.tmp`, file);
    return;
  }
  const saved = await savedCommit(hubPath, ref.id);
  if (saved?.length === ref.length) return;
  // Entries below the saved length are final (the workflow moved past them); a shorter transcript is saved anew.
  const kept = saved && saved.length < ref.length ? await treeEntries(hubPath, saved.tree) : new Map<string, string>();
  const from = saved && saved.length < ref.length ? saved.length : 0;
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
  const commit = await gitOut(hubPath, ['commit-tree', tree, '-m', `length ${ref.length}`, '-m', ref.id]);
  await pushRefs(hubPath, remote, [{ ref: transcriptRef(ref.id), next: commit }], 'longrun: save transcript');
}

/**
 * The transcript as saved at its last checkpoint, written into `store` (entries it already has are left alone), or
 * null when none was saved. The caller syncs the mirror first (requireHub).
 */
export async function restoreTranscript(
  hubPath: string,
  store: ArtifactStore,
  id: string,
): Promise<TranscriptRef | null> {
  if (!(await remoteOf(hubPath))) {
    const text = await fs.readFile(store.checkpointFile(id), 'utf8').catch(() => null);
    if (!text) return null;
    const { length } = JSON.parse(text) as TranscriptRef;
    return { id, length };
  }
  const saved = await savedCommit(hubPath, id);
  if (!saved) return null;
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
