import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SortedOffsets } from './offsets.ts';

describe('SortedOffsets', () => {
  it('finds the first gap at or after a start', () => {
    const s = new SortedOffsets();
    for (const x of [0n, 1n, 2n, 5n, 6n, 9n]) s.add(x);
    expect(s.firstFreeFrom(0n)).toBe(3n);
    expect(s.firstFreeFrom(4n)).toBe(4n);
    expect(s.firstFreeFrom(5n)).toBe(7n);
    expect(s.firstFreeFrom(9n)).toBe(10n);
    expect(s.add(5n)).toBe(false);
    expect(s.delete(1n)).toBe(true);
    expect(s.delete(1n)).toBe(false);
    expect(s.firstFreeFrom(0n)).toBe(1n);
    expect(s.values()).toEqual([0n, 2n, 5n, 6n, 9n]);
  });

  it('behaves like a Set with a linear scan for the first gap', () => {
    const op = fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 40n }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.bigInt({ min: 0n, max: 45n }), (ops, start) => {
        const s = new SortedOffsets();
        const ref = new Set<bigint>();
        for (const [add, x] of ops) {
          expect(add ? s.add(x) : s.delete(x)).toBe(add ? !ref.has(x) : ref.has(x));
          if (add) ref.add(x);
          else ref.delete(x);
        }
        let want = start;
        while (ref.has(want)) want++;
        expect(s.firstFreeFrom(start)).toBe(want);
        expect(s.size).toBe(ref.size);
        expect([...s.values()]).toEqual([...ref].sort((a, b) => (a < b ? -1 : 1)));
      }),
    );
  });
});
