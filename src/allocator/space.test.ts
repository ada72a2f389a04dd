import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatAddress, isBuggyAddress, parseRange } from '../address/address.ts';
import type { Pool } from '../config/model.ts';
import { PoolSpace } from './space.ts';

const pool = (addresses: string[], avoidBuggyIPs = false): Pool => ({
  name: 'p',
  labels: {},
  ranges: addresses.map(parseRange),
  autoAssign: true,
  avoidBuggyIPs,
});

describe('PoolSpace', () => {
  it('numbers addresses in spec order across ranges, one family at a time', () => {
    const p = pool(['10.0.0.10-10.0.0.11', '2001:db8::/127', '10.0.0.1/32']);
    const v4 = new PoolSpace(p, 'ipv4');
    expect(v4.capacity).toBe(3n);
    expect([0n, 1n, 2n].map((o) => formatAddress('ipv4', v4.valueAt(o)))).toEqual([
      '10.0.0.10',
      '10.0.0.11',
      '10.0.0.1',
    ]);
    expect(v4.offsetOf(v4.valueAt(2n))).toBe(2n);
    expect(v4.offsetOf(0x0a000002n)).toBeUndefined();
    expect(new PoolSpace(p, 'ipv6').capacity).toBe(2n);
  });

  it('gives no offset to .0 and .255 with avoidBuggyIPs, and ranges with nothing usable take no room', () => {
    const s = new PoolSpace(pool(['10.0.0.255/32', '10.0.0.254-10.0.1.1'], true), 'ipv4');
    expect(s.capacity).toBe(2n);
    expect(formatAddress('ipv4', s.valueAt(0n))).toBe('10.0.0.254');
    expect(formatAddress('ipv4', s.valueAt(1n))).toBe('10.0.1.1');
    expect(s.offsetOf(0x0a000100n)).toBeUndefined();
  });

  it('offsetOf and valueAt are inverse over every usable address', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 600 }))
      .map(([a, len]) => ({ a, b: a + len }));
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 4 }), fc.boolean(), (spans, buggy) => {
        // Make the ranges disjoint by spacing them 4096 apart, in reverse to test spec order.
        const texts = spans.map(({ a, b }, i) => {
          const base = (spans.length - i) * 4096;
          const f = (n: number) => formatAddress('ipv4', BigInt(0x0a000000 + base + n));
          return `${f(a)}-${f(b)}`;
        });
        const s = new PoolSpace(pool(texts, buggy), 'ipv4');
        let offset = 0n;
        for (const t of texts) {
          const r = parseRange(t);
          for (let v = r.first; v <= r.last; v++) {
            if (buggy && isBuggyAddress({ family: 'ipv4', value: v })) {
              expect(s.offsetOf(v)).toBeUndefined();
              continue;
            }
            expect(s.offsetOf(v)).toBe(offset);
            expect(s.valueAt(offset)).toBe(v);
            offset++;
          }
        }
        expect(s.capacity).toBe(offset);
      }),
      { numRuns: 60 },
    );
  });
});
