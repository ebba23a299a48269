/**
 * Output capping. Command output can be megabytes; the model needs the start (what ran, the first
 * error) and the end (the summary, the exit status), so we keep a head and a tail and mark the cut
 * with the number of bytes dropped. Memory stays bounded while the stream is running.
 */

export const DEFAULT_HEAD_BYTES = 8 * 1024;
export const DEFAULT_TAIL_BYTES = 8 * 1024;

export function cutMarker(bytes: number): string {
  return `\n[... ${bytes} bytes cut ...]\n`;
}

/** Collects a byte stream keeping at most `headBytes` from the start and `tailBytes` from the end. */
export class HeadTailBuffer {
  private head: Buffer[] = [];
  private headLength = 0;
  private tail: Buffer[] = [];
  private tailLength = 0;
  total = 0;

  constructor(
    private readonly headBytes = DEFAULT_HEAD_BYTES,
    private readonly tailBytes = DEFAULT_TAIL_BYTES,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headLength < this.headBytes) {
      const take = Math.min(chunk.length, this.headBytes - this.headLength);
      this.head.push(chunk.subarray(0, take));
      this.headLength += take;
      chunk = chunk.subarray(take);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailLength += chunk.length;
    // Drop whole chunks from the front while the rest still covers the tail budget, then trim one.
    while (this.tail.length > 1 && this.tailLength - this.tail[0].length >= this.tailBytes) {
      this.tailLength -= this.tail[0].length;
      this.tail.shift();
    }
    if (this.tailLength > this.tailBytes) {
      const excess = this.tailLength - this.tailBytes;
      this.tail[0] = this.tail[0].subarray(excess);
      this.tailLength -= excess;
    }
  }

  /** Bytes dropped between head and tail. */
  get cut(): number {
    return this.total - this.headLength - this.tailLength;
  }

  toString(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    return this.cut > 0 ? head + cutMarker(this.cut) + tail : head + tail;
  }
}

/** Caps an already complete text the same way (used for git diff and other tool output). */
export function capText(text: string, headBytes = DEFAULT_HEAD_BYTES, tailBytes = DEFAULT_TAIL_BYTES): string {
  const buffer = new HeadTailBuffer(headBytes, tailBytes);
  buffer.push(Buffer.from(text, 'utf8'));
  return buffer.toString();
}
