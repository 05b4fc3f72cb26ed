/**
 * Encoded (prompt, response) examples in one growing typed array instead of two JS arrays each:
 * HH-RLHF's train split is 320k responses of a few hundred tokens, which as arrays of JS numbers
 * cost 8 bytes a token plus two array objects an example; here 4 bytes a token and 12 an example.
 * A batch takes its examples back out as plain arrays (get), a few at a time.
 *
 *   const store = new PackedExamples();
 *   const i = store.push({ prompt: [5, 6], response: [7, 50256] });
 *   store.get(i) // { prompt: [5, 6], response: [7, 50256] }
 */
import type { Example } from './batch';

export class PackedExamples {
  private tokens = new Int32Array(1 << 16);
  private used = 0;
  /** Per example: where its prompt starts, where its response starts; the next example's start ends it. */
  private starts = new Uint32Array(1 << 10);
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Stores the example and returns its index. */
  push(e: Example): number {
    const need = e.prompt.length + e.response.length;
    if (this.used + need > this.tokens.length) this.tokens = grow(this.tokens, this.used + need);
    if (2 * this.count + 3 > this.starts.length) this.starts = grow(this.starts, 2 * this.count + 3);
    this.starts[2 * this.count] = this.used;
    this.tokens.set(e.prompt, this.used);
    this.used += e.prompt.length;
    this.starts[2 * this.count + 1] = this.used;
    this.tokens.set(e.response, this.used);
    this.used += e.response.length;
    // The end of this example is the start of the next one.
    this.starts[2 * this.count + 2] = this.used;
    return this.count++;
  }

  get(i: number): Example {
    const [p, r, end] = this.bounds(i);
    return { prompt: Array.from(this.tokens.subarray(p, r)), response: Array.from(this.tokens.subarray(r, end)) };
  }

  prompt(i: number): number[] {
    const [p, r] = this.bounds(i);
    return Array.from(this.tokens.subarray(p, r));
  }

  /** Prompt and response tokens of example i. */
  tokenCount(i: number): number {
    const [p, , end] = this.bounds(i);
    return end - p;
  }

  /** The most tokens any example has (0 when there are none): the longest sequence a batch can pad to. */
  longest(): number {
    let most = 0;
    for (let i = 0; i < this.count; i++) most = Math.max(most, this.starts[2 * i + 2]! - this.starts[2 * i]!);
    return most;
  }

  private bounds(i: number): [number, number, number] {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count))
      throw new RangeError(`example ${i} is not in a store of ${this.count}`);
    return [this.starts[2 * i]!, this.starts[2 * i + 1]!, this.starts[2 * i + 2]!];
  }
}

function grow<T extends Int32Array | Uint32Array>(array: T, atLeast: number): T {
  let size = array.length;
  while (size < atLeast) size *= 2;
  const bigger = new (array.constructor as new (n: number) => T)(size);
  bigger.set(array);
  return bigger;
}
