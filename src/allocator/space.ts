import { usableAt, usableBelow } from '../address/address.ts';
import type { AddressRange, IPFamily, Pool } from '../config/model.ts';
import { SortedOffsets } from './offsets.ts';

/**
 * PoolSpace numbers the usable addresses of one family of one pool densely, in spec order: offset 0 is the
 * first usable address of the first range the user wrote, and so on across ranges. With avoidBuggyIPs the
 * IPv4 addresses ending in .0 and .255 get no offset at all, so "lowest free offset" is always a usable
 * address and no search ever walks over skipped ones. `taken` holds the offsets in use or avoided.
 * Cost: offsetOf and valueAt are O(log r) for r ranges; memory O(r + k) for k taken offsets.
 */
export class PoolSpace {
  readonly pool: string;
  readonly family: IPFamily;
  readonly ranges: readonly AddressRange[];
  /** capacity is the number of usable addresses (avoidBuggyIPs already subtracted). */
  readonly capacity: bigint;
  /** taken holds offsets in use by a Service or avoided. */
  readonly taken = new SortedOffsets();
  /** used counts distinct addresses in use by at least one Service (a shared address counts once). */
  used = 0n;
  readonly #buggy: boolean;
  readonly #starts: bigint[] = [];
  readonly #base: bigint[] = [];
  readonly #byFirst: number[];

  constructor(pool: Pool, family: IPFamily) {
    this.pool = pool.name;
    this.family = family;
    this.ranges = pool.ranges.filter((r) => r.family === family);
    this.#buggy = pool.avoidBuggyIPs && family === 'ipv4';
    let total = 0n;
    for (const r of this.ranges) {
      this.#starts.push(total);
      const base = this.#buggy ? usableBelow(r.first) : r.first;
      this.#base.push(base);
      total += this.#buggy ? usableBelow(r.last + 1n) - base : r.last - r.first + 1n;
    }
    this.capacity = total;
    this.#byFirst = this.ranges
      .map((_, i) => i)
      .sort((x, y) => {
        const a = this.ranges[x]?.first ?? 0n;
        const b = this.ranges[y]?.first ?? 0n;
        return a < b ? -1 : a > b ? 1 : 0;
      });
  }

  /** offsetOf returns the offset of an address, or undefined when the space does not hold it as usable. */
  offsetOf(value: bigint): bigint | undefined {
    // Ranges never overlap (parseConfig checks), so the last range starting at or below value is the only
    // candidate.
    let lo = 0;
    let hi = this.#byFirst.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const idx = this.#byFirst[mid] as number;
      if ((this.ranges[idx] as AddressRange).first <= value) {
        found = idx;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const r = this.ranges[found] as AddressRange;
    if (value > r.last) return undefined;
    const start = this.#starts[found] as bigint;
    if (!this.#buggy) return start + (value - r.first);
    const low = value & 0xffn;
    if (low === 0n || low === 255n) return undefined;
    return start + (usableBelow(value) - (this.#base[found] as bigint));
  }

  /** valueAt returns the address at an offset in [0, capacity). */
  valueAt(offset: bigint): bigint {
    let lo = 0;
    let hi = this.#starts.length - 1;
    // Last range whose start is <= offset (ranges with no usable address share their successor's start).
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.#starts[mid] as bigint) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const k = offset - (this.#starts[lo] as bigint);
    const base = this.#base[lo] as bigint;
    return this.#buggy ? usableAt(base + k) : base + k;
  }

  /** lowestFree returns the lowest offset neither in use nor avoided, or undefined when the space is full. */
  lowestFree(): bigint | undefined {
    const o = this.taken.firstFreeFrom(0n);
    return o < this.capacity ? o : undefined;
  }
}
