import { describe, expect, it } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import type { Recorder } from '../edge/events.ts';
import { parseConfig } from '../src/config/parse.ts';
import { redactSecret } from '../src/config/secret.ts';
import { ConfigReporter, type ConditionWriter, type ConfigObject } from './config-report.ts';

function fakes() {
  const writes: Array<{ kind: string; name: string; status: string; reason: string; at: string }> = [];
  const events: Array<{ name: string; reason: string; message: string }> = [];
  let fail = false;
  const write: ConditionWriter = async (kind, _ns, name, conditions) => {
    if (fail) throw new Error('connection refused');
    for (const c of conditions)
      writes.push({ kind, name, status: c.status, reason: c.reason, at: c.lastTransitionTime });
  };
  const recorder: Recorder = {
    event: (t, _type, reason, message) => events.push({ name: t.name, reason, message }),
  };
  return { writes, events, write, recorder, setFail: (v: boolean) => (fail = v) };
}

const l2 = (name: string, pools: string[], status?: ConfigObject['status']) => ({
  kind: 'L2Advertisement',
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    generation: 1,
    creationTimestamp: '2025-01-01T00:00:00Z',
  },
  spec: { ipAddressPools: pools },
  ...(status ? { status } : {}),
});
const pool = {
  kind: 'IPAddressPool',
  metadata: { name: 'lab', namespace: 'ns' },
  spec: { addresses: ['10.0.0.0/24'] },
};

describe('ConfigReporter', () => {
  it('writes a condition only when it changes and records one Event per new problem', async () => {
    const f = fakes();
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const r = new ConfigReporter({
      namespace: 'ns',
      write: f.write,
      recorder: f.recorder,
      canWrite: () => true,
      clock,
    });
    const run = (objects: ConfigObject[]) =>
      r.report(objects, parseConfig(objects, { namespace: 'ns', secretsRead: false }));

    // "typo" names a pool that does not exist: False + an Event; "ok" is valid
    const first = [pool, l2('ok', ['lab']), l2('typo', ['labb'])];
    expect(await run(first)).toBe(true);
    expect(f.writes.map((w) => [w.name, w.status, w.reason])).toEqual([
      ['ok', 'True', 'Valid'],
      ['typo', 'False', 'DanglingReference'],
    ]);
    expect(f.events).toEqual([
      {
        name: 'typo',
        reason: 'DanglingReference',
        message:
          'L2Advertisement "typo": IPAddressPool "labb" named in spec.ipAddressPools does not exist: nothing is advertised for it',
      },
    ]);

    // the cache now shows what was written: nothing to do, no repeated Event
    const cached = (name: string, pools: string[]) => {
      const w = f.writes.filter((x) => x.name === name).at(-1);
      if (!w) throw new Error(`no write for ${name}`);
      const objects = [pool, l2(name, pools)];
      const reports = parseConfig(objects, { namespace: 'ns', secretsRead: false });
      const message =
        w.status === 'True' ? `L2Advertisement "${name}" is in use` : (reports.warnings[0]?.message ?? '');
      return l2(name, pools, {
        conditions: [
          {
            type: 'Valid',
            status: w.status as 'True' | 'False',
            reason: w.reason as 'Valid',
            message,
            lastTransitionTime: w.at,
            observedGeneration: 1,
          },
        ],
      });
    };
    const ok = cached('ok', ['lab']);
    const typo = cached('typo', ['labb']);
    f.writes.length = 0;
    expect(await run([pool, ok, typo])).toBe(true);
    expect(f.writes).toEqual([]);
    expect(f.events).toHaveLength(1);

    // a failed write is reported to the caller, which runs report again later
    f.setFail(true);
    expect(await run([pool, ok, l2('typo', ['lab'])])).toBe(false);
    f.setFail(false);
    expect(await run([pool, ok, l2('typo', ['lab'])])).toBe(true);
    expect(f.writes.map((w) => [w.name, w.status])).toEqual([['typo', 'True']]);
  });

  it('a standby writes nothing', async () => {
    const f = fakes();
    const r = new ConfigReporter({
      namespace: 'ns',
      write: f.write,
      recorder: f.recorder,
      canWrite: () => false,
    });
    const objects = [l2('typo', ['labb'])];
    await r.report(objects, parseConfig(objects, { namespace: 'ns' }));
    expect(f.writes).toEqual([]);
    expect(f.events).toEqual([]);
  });

  it('reports a BGPPeer whose password Secret is missing, then wrong, then fixed, never showing the password', async () => {
    const f = fakes();
    const r = new ConfigReporter({
      namespace: 'ns',
      write: f.write,
      recorder: f.recorder,
      canWrite: () => true,
    });
    const peer = {
      kind: 'BGPPeer',
      metadata: { name: 'tor', namespace: 'ns', uid: 'uid-tor', generation: 1 },
      spec: { myASN: 64500, peerASN: 64512, peerAddress: '192.0.2.1', passwordSecret: { name: 'bgp' } },
    };
    const secret = (type: string) =>
      redactSecret({ metadata: { name: 'bgp', namespace: 'ns' }, type, data: { password: btoa('hunter2') } });
    // what the controller does: the peers as cached, plus the namespace's Secrets redacted
    const run = (secrets: unknown[]) =>
      r.report([peer], parseConfig([peer, ...secrets], { namespace: 'ns', secretsRead: true }));

    await run([]);
    await run([secret('Opaque')]);
    await run([secret('kubernetes.io/basic-auth')]);
    expect(f.writes.map((w) => [w.name, w.status, w.reason])).toEqual([
      ['tor', 'False', 'MissingReference'],
      ['tor', 'False', 'Invalid'],
      ['tor', 'True', 'Valid'],
    ]);
    expect(f.events.map((e) => [e.name, e.reason, e.message])).toEqual([
      [
        'tor',
        'MissingReference',
        'BGPPeer "tor": Secret "ns/bgp" named in spec.passwordSecret does not exist',
      ],
      [
        'tor',
        'InvalidConfiguration',
        'BGPPeer "tor": Secret "ns/bgp" has type "Opaque"; a BGP password Secret needs type "kubernetes.io/basic-auth"',
      ],
    ]);
    expect(JSON.stringify([f.writes, f.events])).not.toMatch(/hunter2|aHVudGVyMg/);
  });
});
