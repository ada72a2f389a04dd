// IngressLoop with recording fakes: a fake data plane, Event recorder and status writer, a manual clock.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../edge/clock.ts';
import type { EventTarget, Recorder } from '../edge/events.ts';
import type { StatusAddress } from '../src/ingress/status.ts';
import type { RouteTable } from '../src/ingress/types.ts';
import { IngressLoop, type IngressLoopOptions } from './controller.ts';
import type { ApplyResult, Dataplane } from './dataplane.ts';
import type { IngressSnapshot } from './reconcile.ts';
import { endpointSlice, ingress, service } from '../test/support/ingress-testkit.ts';

const CLASS = { metadata: { name: 'ironlb' }, spec: { controller: 'ironlb.io/ingress' } };

interface FakeDataplane extends Dataplane {
  tables: RouteTable[];
  exit(code: number | null): void;
}

function world() {
  const clock = new ManualClock(1_000_000);
  const started: { table: RouteTable; dp: FakeDataplane }[] = [];
  const events: { target: EventTarget; type: string; reason: string; message: string }[] = [];
  const writes: { key: string; addresses: StatusAddress[] }[] = [];
  let leader = true;
  let failStarts = 0;
  const snapshot: IngressSnapshot = {
    ingressClasses: [CLASS],
    ingresses: [
      ingress('web', {
        ns: 'app',
        className: 'ironlb',
        rules: [{ host: 'web.test', paths: [['/', 'Prefix', 'web']] }],
      }),
      ingress('bad', {
        ns: 'app',
        className: 'ironlb',
        rules: [{ host: 'bad.test', paths: [['/', 'Nope', 'web']] }],
      }),
      ingress('theirs', {
        ns: 'app',
        className: 'other',
        rules: [{ host: 'x.test', paths: [['/', 'Prefix', 'web']] }],
      }),
    ],
    services: [service('app', 'web')],
    endpointSlices: endpointSlice('app', 'web', [{ address: '10.244.1.5', port: 8080 }]),
    secrets: [],
  };
  const statuses = new Map<string, StatusAddress[]>();
  const recorder: Recorder = {
    event: (target, type, reason, message) => events.push({ target, type, reason, message }),
  };
  const options: IngressLoopOptions = {
    snapshot: () => snapshot,
    ingresses: () =>
      snapshot.ingresses.map((i) => {
        const key = `${i.metadata?.namespace}/${i.metadata?.name}`;
        return {
          metadata: {
            namespace: i.metadata?.namespace,
            name: i.metadata?.name,
            uid: `uid-${i.metadata?.name}`,
          },
          status: { loadBalancer: { ingress: statuses.get(key) ?? [] } },
        };
      }),
    ownService: () => ({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.201' }] } } }),
    startDataplane: async (table, onExit) => {
      if (failStarts > 0) {
        failStarts--;
        throw new Error('HAProxy configuration is invalid: boom');
      }
      const dp: FakeDataplane = {
        tables: [table],
        apply: async (t): Promise<ApplyResult> => {
          dp.tables.push(t);
          return { mode: 'runtime', ops: 1, commands: 1, ms: 1 };
        },
        reload: async () => ({ mode: 'reload', reason: 'requested', ms: 1 }),
        stop: async () => {},
        pid: 4242,
        stats: { runtime: 0, reloads: 0, rejected: 0, commands: 0, checks: 0 },
        exit: (code) => onExit(code),
      };
      started.push({ table, dp });
      return dp;
    },
    recorder,
    status: {
      write: async (namespace, name, addresses) => {
        writes.push({ key: `${namespace}/${name}`, addresses });
        statuses.set(`${namespace}/${name}`, addresses);
      },
    },
    isLeader: () => leader,
    log: pino({ level: 'silent' }),
    clock,
    random: () => 0.5,
  };
  return {
    clock,
    started,
    events,
    writes,
    snapshot,
    options,
    setLeader: (v: boolean) => (leader = v),
    failNextStarts: (n: number) => (failStarts = n),
  };
}

/** settle lets pending promise callbacks run (the loop's work is a few awaits deep). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('IngressLoop, a story in order', () => {
  it('starts HAProxy with the first real table, writes status of served Ingresses only, and reports issues once', async () => {
    const w = world();
    const loop = new IngressLoop(w.options);
    await loop.run();
    expect(w.started).toHaveLength(1);
    expect(w.started[0]?.table.ingresses).toEqual(['app/bad', 'app/web']);
    expect(loop.ready).toBe(true);
    expect(loop.last?.applied).toMatchObject({ mode: 'reload', reason: 'data plane started' });
    // served Ingresses (even a bad one: its class is ours) get the Service address; "theirs" is untouched
    expect(w.writes).toEqual([
      { key: 'app/bad', addresses: [{ ip: '192.0.2.201' }] },
      { key: 'app/web', addresses: [{ ip: '192.0.2.201' }] },
    ]);
    expect(w.events.map((e) => [e.target.name, e.target.uid, e.type, e.reason])).toEqual([
      ['bad', 'uid-bad', 'Warning', 'InvalidIngress'],
    ]);
    // a second reconcile applies through the running data plane, writes nothing, reports nothing new
    await loop.run();
    expect(w.started).toHaveLength(1);
    expect(w.started[0]?.dp.tables).toHaveLength(2);
    expect(w.writes).toHaveLength(2);
    expect(w.events).toHaveLength(1);
  });

  it('writes nothing while another replica holds the Lease, and reports current issues on taking it', async () => {
    const w = world();
    w.setLeader(false);
    const loop = new IngressLoop(w.options);
    await loop.run();
    expect(w.started).toHaveLength(1); // traffic never waits for the Lease
    expect([w.writes, w.events]).toEqual([[], []]);
    w.setLeader(true);
    await loop.run();
    expect(w.writes.map((x) => x.key)).toEqual(['app/bad', 'app/web']);
    expect(w.events.map((e) => e.reason)).toEqual(['InvalidIngress']);
  });

  it('starts a new HAProxy with the last applied table after it exits, with backoff', async () => {
    const w = world();
    const loop = new IngressLoop(w.options);
    await loop.run();
    const first = w.started[0]?.dp;
    first?.exit(null);
    expect(loop.dataplane).toBeUndefined();
    expect(loop.ready).toBe(false);
    w.clock.advance(150); // backoff is 200 ms (random 0.5: no jitter)
    await settle();
    expect(w.started).toHaveLength(1);
    w.clock.advance(100);
    await settle();
    expect(w.started).toHaveLength(2);
    expect(w.started[1]?.table.ingresses).toEqual(['app/bad', 'app/web']);
    expect(loop.dataplane).toBe(w.started[1]?.dp);
    // an exit of the old instance means nothing any more
    first?.exit(0);
    expect(loop.dataplane).toBe(w.started[1]?.dp);
  });

  it('falls back to an empty table when HAProxy refuses the first one, and says so', async () => {
    const w = world();
    w.failNextStarts(1);
    const loop = new IngressLoop(w.options);
    await loop.run();
    expect(w.started.map((s) => s.table.ingresses)).toEqual([[]]);
    expect(loop.last?.applied).toMatchObject({ mode: 'rejected', error: expect.stringMatching(/boom/) });
  });

  it('does not restart HAProxy once stopping', async () => {
    const w = world();
    const loop = new IngressLoop(w.options);
    await loop.run();
    await loop.stop();
    w.started[0]?.dp.exit(0);
    w.clock.advance(60_000);
    await settle();
    expect(w.started).toHaveLength(1);
  });
});
