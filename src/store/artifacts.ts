import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { safeName } from '../config';
import type { Redact } from '../core/redact';
import type { ChatMessage, TranscriptRef } from '../core/types';

/**
 * The artifact store: transcripts and large outputs on disk, referenced by id from workflow
 * state (claim-check). A transcript is a directory of numbered entries. Writers name the index
 * they write, so an activity retried after a crash overwrites its own entry instead of
 * appending a duplicate, and a reader given { id, length } ignores anything past `length`.
 * Every entry passes `redact` before it is written, so no secret of the worker reaches a transcript on disk (or the
 * model prompts built from it) whichever path the text took.
 */
export class ArtifactStore {
  constructor(
    readonly root: string,
    private readonly redact: Redact = (value) => value,
  ) {}

  private dir(id: string): string {
    return path.join(this.root, 'transcripts', safeName(id));
  }

  private entry(id: string, index: number): string {
    return path.join(this.dir(id), entryName(index));
  }

  /** The file of an entry (written redacted): what a checkpoint copies to where other hosts read it. */
  entryFile(id: string, index: number): string {
    return this.entry(id, index);
  }

  hasEntry(id: string, index: number): boolean {
    return fsSync.existsSync(this.entry(id, index));
  }

  /** Directories known to exist: a transcript's directory is made once, not before every write. */
  private readonly made = new Set<string>();

  /**
   * Written synchronously, like `read`: a small file written and renamed costs less CPU than the thread-pool round
   * trips of the async calls (bench/scaling.ts profile: open, mkdir and rename were a tenth of the worker's time).
   */
  async writeEntry(id: string, index: number, entry: ChatMessage): Promise<void> {
    const message = this.redact(entry);
    const dir = this.dir(id);
    if (!this.made.has(dir)) {
      fsSync.mkdirSync(dir, { recursive: true });
      this.made.add(dir);
    }
    const file = this.entry(id, index);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      fsSync.writeFileSync(tmp, JSON.stringify(message));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.made.delete(dir); // removed behind our back (remove(), a cleanup): make it again
      fsSync.mkdirSync(dir, { recursive: true });
      fsSync.writeFileSync(tmp, JSON.stringify(message));
    }
    fsSync.renameSync(tmp, file); // atomic: a reader never sees half an entry
  }

  async readEntry(id: string, index: number): Promise<ChatMessage> {
    return this.entryAt(id, index);
  }

  /**
   * Every entry up to `ref.length`. Read synchronously: entries are small local files, and one blocking read each
   * (tens of microseconds) costs less than a thread-pool round trip each (measured in bench/overhead.ts).
   */
  async read(ref: TranscriptRef): Promise<ChatMessage[]> {
    return Array.from({ length: ref.length }, (_, i) => this.entryAt(ref.id, i));
  }

  private entryAt(id: string, index: number): ChatMessage {
    try {
      return JSON.parse(fsSync.readFileSync(this.entry(id, index), 'utf8')) as ChatMessage;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing(id, index, this.root);
      throw err;
    }
  }

  /** Writes messages starting at `from` and returns the new ref. */
  async append(id: string, from: number, messages: ChatMessage[]): Promise<TranscriptRef> {
    for (let i = 0; i < messages.length; i++) await this.writeEntry(id, from + i, messages[i]);
    return { id, length: from + messages.length };
  }

  async remove(id: string): Promise<void> {
    this.made.delete(this.dir(id));
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}

/** An entry's file name: its index, zero-padded, so names sort in order. */
export const entryName = (index: number) => `${String(index).padStart(6, '0')}.json`;

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const ARCHIVE = '.jsonl.gz';
const ENTRY = /^\d{6}\.json$/;

/** A transcript in the store: a directory of entries while written, one gzipped JSON-lines file once archived. */
export interface StoredTranscript {
  /** The transcript's safe name (its id through safeName; safeName of a name is the name). */
  name: string;
  archived: boolean;
  bytes: number;
  mtimeMs: number;
}

/**
 * Finished transcripts, archived: one gzip file instead of a directory of small JSON files (a worker's transcript is
 * hundreds of entries; gzip takes JSON to a tenth or less). Kept apart from the class's hot path on purpose.
 */
export class TranscriptArchive {
  constructor(readonly store: ArtifactStore) {}

  private get dir(): string {
    return path.join(this.store.root, 'transcripts');
  }

  /** Every transcript whose name starts with `prefix`, with its size on disk. */
  async list(prefix: string): Promise<StoredTranscript[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const out: StoredTranscript[] = [];
    for (const file of names) {
      const archived = file.endsWith(ARCHIVE);
      const name = archived ? file.slice(0, -ARCHIVE.length) : file;
      if (!name.startsWith(prefix) || file.endsWith('.tmp')) continue;
      const full = path.join(this.dir, file);
      const st = await fs.stat(full).catch(() => null);
      if (!st) continue;
      let bytes = st.size;
      if (st.isDirectory()) {
        for (const entry of await fs.readdir(full).catch(() => [] as string[]))
          bytes += (await fs.stat(path.join(full, entry)).catch(() => null))?.size ?? 0;
      }
      out.push({ name, archived, bytes, mtimeMs: st.mtimeMs });
    }
    return out;
  }

  /**
   * Packs a finished transcript's entries into `<name>.jsonl.gz` and removes its directory. Entries written after an
   * earlier archive (a late retry recreates the directory) are merged into it, index by index, never lost.
   */
  async archive(id: string): Promise<void> {
    const name = safeName(id);
    const dir = path.join(this.dir, name);
    const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => ENTRY.test(f)).sort();
    const entries = await this.read(name).catch(() => [] as ChatMessage[]);
    for (const f of files) entries[Number(f.slice(0, 6))] = JSON.parse(await fs.readFile(path.join(dir, f), 'utf8'));
    const file = path.join(this.dir, name + ARCHIVE);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, await gzip(entries.map((m) => JSON.stringify(m ?? null)).join('\n')));
    await fs.rename(tmp, file);
    await this.store.remove(name);
  }

  /** An archived transcript's entries, in order. */
  async read(id: string): Promise<ChatMessage[]> {
    const text = (await gunzip(await fs.readFile(path.join(this.dir, safeName(id) + ARCHIVE)))).toString('utf8');
    return text ? text.split('\n').map((line) => JSON.parse(line) as ChatMessage) : [];
  }

  async remove(id: string): Promise<void> {
    await fs.rm(path.join(this.dir, safeName(id) + ARCHIVE), { force: true });
  }
}

function missing(id: string, index: number, root: string): Error {
  return new Error(`transcript ${id} has no entry ${index}: the artifact store at ${root} is missing it`);
}
