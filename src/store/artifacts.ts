import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { safeName } from '../config';
import type { ChatMessage, TranscriptRef } from '../core/types';

/**
 * The artifact store: transcripts and large outputs on disk, referenced by id from workflow
 * state (claim-check). A transcript is a directory of numbered entries. Writers name the index
 * they write, so an activity retried after a crash overwrites its own entry instead of
 * appending a duplicate, and a reader given { id, length } ignores anything past `length`.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  private dir(id: string): string {
    return path.join(this.root, 'transcripts', safeName(id));
  }

  private entry(id: string, index: number): string {
    return path.join(this.dir(id), `${String(index).padStart(6, '0')}.json`);
  }

  async writeEntry(id: string, index: number, message: ChatMessage): Promise<void> {
    await fs.mkdir(this.dir(id), { recursive: true });
    const file = this.entry(id, index);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(message));
    await fs.rename(tmp, file); // atomic: a reader never sees half an entry
  }

  async readEntry(id: string, index: number): Promise<ChatMessage> {
    try {
      return JSON.parse(await fs.readFile(this.entry(id, index), 'utf8')) as ChatMessage;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`transcript ${id} has no entry ${index}: the artifact store at ${this.root} is missing it`);
      }
      throw err;
    }
  }

  async read(ref: TranscriptRef): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    for (let i = 0; i < ref.length; i++) out.push(await this.readEntry(ref.id, i));
    return out;
  }

  /** Writes messages starting at `from` and returns the new ref. */
  async append(id: string, from: number, messages: ChatMessage[]): Promise<TranscriptRef> {
    for (let i = 0; i < messages.length; i++) await this.writeEntry(id, from + i, messages[i]);
    return { id, length: from + messages.length };
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}
