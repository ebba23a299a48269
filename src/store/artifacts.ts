import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
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
    return path.join(this.dir(id), `${String(index).padStart(6, '0')}.json`);
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

function missing(id: string, index: number, root: string): Error {
  return new Error(`transcript ${id} has no entry ${index}: the artifact store at ${root} is missing it`);
}
