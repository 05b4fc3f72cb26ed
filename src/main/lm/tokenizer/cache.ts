/**
 * A Map that holds at most `capacity` entries, dropping the oldest insertion when full. Text
 * repeats its words (Zipf), so even a plain first-in-first-out cache answers most lookups, and it
 * costs nothing on a hit, where an LRU would reorder the map on every read.
 *
 *   const c = new BoundedCache<string, number>(2); c.set('a', 1); c.set('b', 2); c.set('c', 3);
 *   c.get('a') === undefined; c.get('c') === 3
 */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`cache capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.size >= this.capacity && !this.map.has(key)) {
      // Maps iterate in insertion order, so the first key is the oldest.
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, value);
  }
}
