/**
 * An in-process async mutex per key (a hub path). Other processes and hosts are not excluded by
 * this: git's own lock files and the compare-and-swap on the target ref guard against them.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // Forget the key once nobody is waiting behind us, so the map does not grow per run forever.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
