import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Allocator, type Assignment } from './allocator.ts';
import { AllocationError } from './errors.ts';
import { configOf, svc, type ServiceSpec } from '../../test/support/allocator-testkit.ts';
import type { ServiceView } from '../service/view.ts';
import type { Config } from '../config/model.ts';

const CONFIGS: [Config, Config] = [
  configOf({
    a: { addresses: ['10.0.0.0/29'], avoidBuggyIPs: true },
    b: { addresses: ['10.0.1.0/30', '2001:db8::/126'] },
    c: { addresses: ['2001:db8:1::/127'], serviceAllocation: { namespaces: ['prod'], priority: 5 } },
  }),
  // The same cluster after an edit: pool a shrinks, b moves its IPv6 range, c disappears.
  configOf({
    a: { addresses: ['10.0.0.0/30'], avoidBuggyIPs: true },
    b: { addresses: ['10.0.1.0/30', '2001:db8::2/127'] },
    d: { addresses: ['10.0.9.0/31'], autoAssign: false },
  }),
];
const ADDRESSES = [
  '10.0.0.0',
  '10.0.0.1',
  '10.0.0.2',
  '10.0.0.5',
  '10.0.1.0',
  '10.0.1.3',
  '2001:db8::',
  '2001:db8::3',
  '2001:db8:1::1',
  '10.0.9.1',
];

// rarely gives a value one time in four, null otherwise.
const rarely = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

// Mostly plain and sharing Services, sometimes a requested IP or pool, so every rule gets exercised.
const annotations = fc
  .tuple(
    fc.constantFrom('', 'k1', 'k1', 'k2'),
    rarely(fc.constantFrom('a', 'b', 'd')),
    rarely(fc.constantFrom(...ADDRESSES)),
  )
  .map(([key, pool, ip]) => {
    const out: Record<string, string> = {};
    if (key) out['metallb.io/allow-shared-ip'] = key;
    if (pool !== null) out['metallb.io/address-pool'] = pool;
    if (ip !== null) out['metallb.io/loadBalancerIPs'] = ip;
    return out;
  });

const spec: fc.Arbitrary<ServiceSpec> = fc.record({
  namespace: fc.constantFrom('default', 'prod'),
  annotations,
  ports: fc.subarray<[string, number]>(
    [
      ['TCP', 80],
      ['TCP', 443],
      ['UDP', 53],
    ],
    { minLength: 1, maxLength: 2 },
  ),
  families: fc.constantFrom<Array<'IPv4' | 'IPv6'>>(
    ['IPv4'],
    ['IPv4'],
    ['IPv6'],
    ['IPv4', 'IPv6'],
    ['IPv6', 'IPv4'],
  ),
  policy: fc.constantFrom('SingleStack' as const, 'PreferDualStack' as const, 'RequireDualStack' as const),
  local: fc.option(fc.constantFrom({ app: 'x' }, { app: 'y' }), { nil: undefined, freq: 2 }),
});

type Op =
  | { op: 'assign'; i: number; spec: ServiceSpec }
  | { op: 'release'; i: number }
  | { op: 'avoid'; ip: string }
  | { op: 'unavoid'; ip: string }
  | { op: 'config'; c: 0 | 1 };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('assign' as const), i: fc.nat(7), spec }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), i: fc.nat(7) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('avoid' as const), ip: fc.constantFrom(...ADDRESSES) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('unavoid' as const), ip: fc.constantFrom(...ADDRESSES) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('config' as const), c: fc.constantFrom(0 as const, 1 as const) }),
  },
);

function tryAssign(a: Allocator, view: ServiceView): Assignment | AllocationError {
  try {
    return a.assign(view, {});
  } catch (e) {
    if (e instanceof AllocationError) return e;
    throw e;
  }
}

// How often the runs saw a shared address: a guard that the generators reach the sharing rules at all.
let sharedSeen = 0;

// The invariants every state must satisfy, checked through the public API only.
function checkInvariants(a: Allocator, views: Map<string, ServiceView>): void {
  const byIP = new Map<string, ServiceView[]>();
  for (const [key, view] of views) {
    const held = a.allocationOf(key);
    if (!held) continue;
    expect(held.ips.length).toBeGreaterThan(0);
    expect(new Set(held.ips.map((ip) => ip.includes(':'))).size).toBe(held.ips.length); // one per family
    for (const ip of held.ips) {
      expect(a.poolOf(ip), `${ip} of ${key} lies in its pool`).toBe(held.pool);
      byIP.set(ip, [...(byIP.get(ip) ?? []), view]);
    }
  }
  for (const [ip, holders] of byIP) {
    expect(a.holdersOf(ip)).toEqual(holders.map((h) => h.key).sort());
    if (holders.length < 2) continue;
    sharedSeen += 1;
    const [first] = holders as [ServiceView];
    const ports = new Set<string>();
    for (const h of holders) {
      expect(h.sharingKey, `${ip} shared only with a sharing key`).not.toBe('');
      expect(h.sharingKey).toBe(first.sharingKey);
      expect(h.backendKey).toBe(first.backendKey);
      for (const p of h.ports) {
        const k = `${p.protocol}/${p.port}`;
        expect(ports.has(k), `${ip} port ${k} used once`).toBe(false);
        ports.add(k);
      }
    }
  }
}

describe('Allocator properties', () => {
  it('never gives an address to two Services unless sharing allows it; addresses stay in their pool; new ones are never avoided', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 40, size: 'max' }), (ops) => {
        const a = new Allocator(CONFIGS[0]);
        const views = new Map<string, ServiceView>();
        const avoided = new Set<string>();
        for (const o of ops) {
          if (o.op === 'assign') {
            const key = `s${o.i}`;
            const prev = views.get(`${o.spec.namespace}/${key}`);
            const view = svc(key, { ...o.spec, ingress: prev?.ingressIPs ?? [] });
            const r = tryAssign(a, view);
            if (r instanceof AllocationError) {
              // The controller clears status when allocation fails (unless the Service itself is invalid).
              if (r.code !== 'invalidService') views.set(view.key, { ...view, ingressIPs: [] });
            } else {
              for (const ip of r.ips) if (r.source !== 'kept') expect(avoided.has(ip)).toBe(false);
              views.set(view.key, { ...view, ingressIPs: r.ips });
            }
          } else if (o.op === 'release') {
            for (const ns of ['default', 'prod']) {
              a.release(`${ns}/s${o.i}`);
              views.delete(`${ns}/s${o.i}`);
            }
          } else if (o.op === 'avoid') {
            a.avoid(o.ip, 'conflict');
            avoided.add(o.ip);
          } else if (o.op === 'unavoid') {
            a.unavoid(o.ip);
            avoided.delete(o.ip);
          } else {
            for (const key of a.setConfig(CONFIGS[o.c])) {
              const v = views.get(key);
              if (v) views.set(key, { ...v, ingressIPs: [] });
            }
          }
          checkInvariants(a, views);
        }
      }),
      { numRuns: 150 },
    );
    expect(sharedSeen).toBeGreaterThan(0);
  }, 30_000);

  it('restores give the same outcome in any order', () => {
    const restored = fc.array(
      fc.record({
        spec,
        ingress: fc.subarray(ADDRESSES, { maxLength: 2 }),
        created: fc.option(fc.constantFrom('2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'), {
          nil: undefined,
        }),
      }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(restored, fc.infiniteStream(fc.nat()), (items, randomness) => {
        const views = items.map((it, i) =>
          svc(`r${i}`, { ...it.spec, ingress: it.ingress, created: it.created }),
        );
        const run = (order: ServiceView[]) => {
          const a = new Allocator(CONFIGS[0]);
          for (const v of order) a.restore(v);
          const held = views.map((v) => a.allocationOf(v.key));
          const assigned = [...views]
            .sort((x, y) => (x.key < y.key ? -1 : 1))
            .map((v) => {
              const r = tryAssign(a, v);
              return r instanceof AllocationError ? r.code : r.ips;
            });
          return { held, assigned };
        };
        const shuffled = [...views];
        const it = randomness[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (it.next().value as number) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as ServiceView, shuffled[i] as ServiceView];
        }
        expect(run(shuffled)).toEqual(run(views));
      }),
      { numRuns: 200 },
    );
  });

  it('release then reassign gives the same addresses back', () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 8 }), spec, (others, mine) => {
        const a = new Allocator(CONFIGS[0]);
        others.forEach((s, i) => tryAssign(a, svc(`o${i}`, s)));
        const view = svc('me', mine);
        const first = tryAssign(a, view);
        a.release(view.key);
        const second = tryAssign(a, view);
        if (first instanceof AllocationError) {
          expect(second).toBeInstanceOf(AllocationError);
          expect((second as AllocationError).code).toBe(first.code);
        } else {
          expect(second).toEqual(first);
        }
      }),
      { numRuns: 300 },
    );
  });
});
