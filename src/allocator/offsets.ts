/**
 * SortedOffsets is a set of non-negative bigint offsets kept as a sorted array. It answers "the lowest offset
 * at or above x that is not in the set" by binary search, so finding a free address costs O(log k) for k
 * offsets in use, however large the space they live in (a /8, an IPv6 /64). has: O(log k). add/delete:
 * O(log k) comparisons plus one array shift (a memmove of up to k slots). Memory: O(k).
 */
export class SortedOffsets {
  #a: bigint[] = [];

  /** size is the number of offsets in the set. */
  get size(): number {
    return this.#a.length;
  }

  // First index whose value is >= x.
  #lowerBound(x: bigint): number {
    let lo = 0;
    let hi = this.#a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#a[mid] as bigint) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** has reports whether x is in the set. */
  has(x: bigint): boolean {
    const i = this.#lowerBound(x);
    return i < this.#a.length && this.#a[i] === x;
  }

  /** add inserts x; returns false when it was already there. */
  add(x: bigint): boolean {
    const i = this.#lowerBound(x);
    if (i < this.#a.length && this.#a[i] === x) return false;
    this.#a.splice(i, 0, x);
    return true;
  }

  /** delete removes x; returns false when it was not there. */
  delete(x: bigint): boolean {
    const i = this.#lowerBound(x);
    if (i >= this.#a.length || this.#a[i] !== x) return false;
    this.#a.splice(i, 1);
    return true;
  }

  /**
   * firstFreeFrom returns the smallest offset >= start that is not in the set. The offsets from index p on
   * are strictly increasing, so value − index never decreases: the run of consecutive offsets that starts at
   * `start` ends at the last index where value − index still equals its value at p, found by binary search.
   */
  firstFreeFrom(start: bigint): bigint {
    const a = this.#a;
    const p = this.#lowerBound(start);
    if (p >= a.length || a[p] !== start) return start;
    const base = start - BigInt(p);
    let lo = p;
    let hi = a.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((a[mid] as bigint) - BigInt(mid) === base) lo = mid;
      else hi = mid - 1;
    }
    return (a[lo] as bigint) + 1n;
  }

  /** values returns the offsets in ascending order (a read-only view; do not keep it across changes). */
  values(): readonly bigint[] {
    return this.#a;
  }
}
