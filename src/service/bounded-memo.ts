/**
 * A bounded memo for work on immutable content, keyed by what the content hashes to: parsing a
 * stored bundle, verifying its signature with a given key, compiling a stored policy. Keys must
 * cover every byte the result depends on, so edited content (an insider rewriting a row) misses
 * the memo and is checked again. When full, the oldest entries go first.
 */
export class BoundedMemo<V> {
  readonly #entries = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: V): V {
    if (!this.#entries.has(key) && this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
    return value;
  }

  /** The memoised value for `key`, computing and keeping it on a miss. */
  getOrSet(key: string, compute: () => V): V {
    const hit = this.#entries.get(key);
    return hit !== undefined ? hit : this.set(key, compute());
  }
}
