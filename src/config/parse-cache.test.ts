import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRange, rangesOverlap } from '../address/address.ts';
import { ParseCache, parseConfig, validateObject } from './parse.ts';

const NS = 'ironlb-system';
const pool = (
  name: string,
  addresses: string[],
  o: { rv?: string; created?: number; uid?: string } = {},
) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: {
    name,
    namespace: NS,
    uid: o.uid ?? `uid-${name}`,
    resourceVersion: o.rv ?? '1',
    creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, o.created ?? 0)).toISOString(),
  },
  spec: { addresses },
});

// small ranges in 10.0.0.0/24 as "10.0.0.a-10.0.0.b", so random pools often overlap
const rangeText = fc
  .tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 6 }))
  .map(([a, len]) => `10.0.0.${a * 4}-10.0.0.${a * 4 + len}`);
const pools = fc
  .array(fc.array(rangeText, { minLength: 1, maxLength: 4 }), { minLength: 0, maxLength: 25 })
  .chain((specs) =>
    fc
      .shuffledSubarray(
        specs.map((_, i) => i),
        { minLength: specs.length, maxLength: specs.length },
      )
      .map((ages) => specs.map((addresses, i) => pool(`p${i}`, addresses, { created: ages[i] }))),
  );

/** accepted is the rule, written the slow and obvious way: oldest first, no overlap with anything accepted. */
function accepted(objects: ReturnType<typeof pool>[]): string[] {
  const taken: ReturnType<typeof parseRange>[] = [];
  const out: string[] = [];
  const byAge = [...objects].sort((a, b) =>
    a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1,
  );
  for (const o of byAge) {
    const ranges = o.spec.addresses.map(parseRange);
    const inner = ranges.some((r, i) => ranges.some((q, j) => i < j && rangesOverlap(r, q)));
    if (inner || ranges.some((r) => taken.some((t) => rangesOverlap(r, t)))) continue;
    taken.push(...ranges);
    out.push(o.metadata.name);
  }
  return out.sort();
}

describe('parseConfig: pool overlaps', () => {
  it('property: a pool is accepted exactly when none of its ranges overlaps an older accepted pool', () => {
    fc.assert(
      fc.property(pools, (objects) => {
        const { config } = parseConfig(objects, { namespace: NS });
        expect([...config.pools.keys()].sort()).toEqual(accepted(objects));
      }),
      { numRuns: 300 },
    );
  });
});

describe('ParseCache', () => {
  it('property: parsing with a cache (cold, then warm) says exactly what parsing without one says', () => {
    fc.assert(
      fc.property(pools, (objects) => {
        const plain = parseConfig(objects, { namespace: NS });
        const cache = new ParseCache();
        for (let i = 0; i < 2; i++) {
          const cached = parseConfig(objects, { namespace: NS, cache });
          expect(cached.problems).toEqual(plain.problems);
          expect(cached.config).toEqual(plain.config);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a rejected pool rejected from the cache, and holds only the objects of the latest parse', () => {
    const cache = new ParseCache();
    const bad = pool('bad', ['127.0.0.1/32']);
    const objects = [pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24']), bad];
    const first = parseConfig(objects, { namespace: NS, cache }).problems;
    expect(first).toHaveLength(1);
    expect(parseConfig(objects, { namespace: NS, cache }).problems).toEqual(first);
    expect(cache.size).toBe(3);
    parseConfig(objects.slice(0, 2), { namespace: NS, cache });
    expect(cache.size).toBe(2);
    // an object without uid or resourceVersion (not stored yet) is never cached
    parseConfig([{ ...pool('new', ['10.0.2.0/24']), metadata: { name: 'new' } }], {
      namespace: NS,
      cache,
    });
    expect(cache.size).toBe(0);
  });

  it('an update carrying the stored uid and resourceVersion with a changed spec is parsed afresh', () => {
    const cache = new ParseCache();
    const existing = [pool('a', ['10.0.0.0/24'], { created: 1 }), pool('b', ['10.0.1.0/24'], { created: 2 })];
    // warm the cache with the stored b
    expect(validateObject('IPAddressPool', pool('c', ['10.0.2.0/24']), { existing, cache })).toEqual([]);
    // the edit of b the API server sends: same uid and resourceVersion as stored, new addresses inside a
    const edited = pool('b', ['10.0.0.128/25'], { created: 2 });
    const problems = validateObject('IPAddressPool', edited, { existing, cache, namespace: NS });
    expect(problems.map((p) => p.message)).toEqual([
      'IPAddressPool "b": address range "10.0.0.128/25" overlaps address range "10.0.0.0/24" of IPAddressPool "a"',
    ]);
    // once stored, the new resourceVersion is a new key
    const stored = [existing[0], pool('b', ['10.0.3.0/24'], { created: 2, rv: '2' })];
    const r = parseConfig(stored, { namespace: NS, cache });
    expect(r.config.pools.get('b')?.ranges.map((x) => x.text)).toEqual(['10.0.3.0/24']);
  });
});
