/**
 * A bounded cache of unwrapped keys. Two generations: hits in the old generation are promoted to
 * the current one; when the current one fills, the old generation is dropped and its keys are
 * overwritten with zeros — so a heap dump after eviction or sealing does not hold them. O(1) per
 * operation, unlike an LRU over one Map with delete/re-insert (whose iteration degrades).
 */
export class KeyCache {
  private current = new Map<string, Buffer>();
  private previous = new Map<string, Buffer>();
  private readonly generationSize: number;

  constructor(maxEntries: number) {
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  get(id: string): Buffer | undefined {
    const hit = this.current.get(id);
    if (hit !== undefined) return hit;
    const old = this.previous.get(id);
    if (old !== undefined) {
      this.previous.delete(id);
      this.insert(id, old);
    }
    return old;
  }

  set(id: string, key: Buffer): void {
    const old = this.current.get(id) ?? this.previous.get(id);
    if (old !== undefined && old !== key) old.fill(0);
    this.previous.delete(id);
    // Replacing in place: no rotation, so no zeroed duplicate left behind in the old generation.
    if (this.current.has(id)) this.current.set(id, key);
    else this.insert(id, key);
  }

  /** Forgets one key (zeroed). */
  delete(id: string): void {
    for (const gen of [this.current, this.previous]) {
      const key = gen.get(id);
      if (key !== undefined) {
        key.fill(0);
        gen.delete(id);
      }
    }
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  clear(): void {
    for (const key of this.current.values()) key.fill(0);
    for (const key of this.previous.values()) key.fill(0);
    this.current = new Map();
    this.previous = new Map();
  }

  private insert(id: string, key: Buffer): void {
    if (this.current.size >= this.generationSize) {
      for (const k of this.previous.values()) k.fill(0);
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(id, key);
  }
}
