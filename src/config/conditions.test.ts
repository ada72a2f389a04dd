import { describe, expect, it } from 'vitest';
import { configReports, reportedProblems } from './conditions.ts';
import { parseConfig } from './parse.ts';

const obj = (kind: string, name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: kind === 'BGPPeer' ? 'metallb.io/v1beta2' : 'metallb.io/v1beta1',
  kind,
  metadata: { name, namespace: 'ns', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec,
});

describe('configReports', () => {
  it('says, per advertisement and peer, whether it is in use as written and names what is missing', () => {
    const objects = [
      obj('IPAddressPool', 'lab', { addresses: ['10.0.0.0/24'] }),
      obj('L2Advertisement', 'ok', { ipAddressPools: ['lab'] }),
      obj('L2Advertisement', 'typo', { ipAddressPools: ['labb'] }),
      obj('BGPAdvertisement', 'nocomm', { communities: ['gold'] }),
      obj('BGPPeer', 'nobfd', { myASN: 1, peerASN: 2, peerAddress: '192.0.2.1', bfdProfile: 'fast' }),
      obj('BGPPeer', 'bad', { myASN: 1, peerASN: 2, peerAddress: 'x' }),
    ];
    const reports = configReports(
      objects.map((o) => ({ kind: o.kind, name: o.metadata.name })),
      parseConfig(objects, { namespace: 'ns', secretsRead: false }),
    );
    expect(reports.map((r) => [r.kind, r.name, r.condition.status, r.condition.reason])).toEqual([
      ['L2Advertisement', 'ok', 'True', 'Valid'],
      ['L2Advertisement', 'typo', 'False', 'DanglingReference'],
      ['BGPAdvertisement', 'nocomm', 'False', 'MissingReference'],
      ['BGPPeer', 'nobfd', 'False', 'MissingReference'],
      ['BGPPeer', 'bad', 'False', 'Invalid'],
    ]);
    expect(reports[1]?.condition.message).toContain('IPAddressPool "labb"');
    expect(reports[2]?.condition.message).toContain('community "gold"');
    expect(reports[3]?.condition.message).toContain('BFDProfile "fast"');
  });

  it('reports a BGPPeer whose password Secret is missing, of the wrong type or without its key', () => {
    const secret = (name: string, type: string, keys: string[]) => ({
      kind: 'Secret',
      metadata: { name, namespace: 'ns' },
      type,
      data: Object.fromEntries(keys.map((k) => [k, ''])),
    });
    const p = (name: string, secretName: string) =>
      obj('BGPPeer', name, {
        myASN: 1,
        peerASN: 2,
        peerAddress: '192.0.2.1',
        passwordSecret: { name: secretName },
      });
    const objects = [p('gone', 'absent'), p('opaque', 'o'), p('nokey', 'k'), p('fine', 'f')];
    const reports = configReports(
      objects.map((o) => ({ kind: o.kind, name: o.metadata.name })),
      parseConfig(
        [
          ...objects,
          secret('o', 'Opaque', ['password']),
          secret('k', 'kubernetes.io/basic-auth', ['username']),
          secret('f', 'kubernetes.io/basic-auth', ['password']),
        ],
        { namespace: 'ns' },
      ),
    );
    expect(reports.map((r) => [r.name, r.condition.reason, r.condition.message])).toEqual([
      [
        'gone',
        'MissingReference',
        'BGPPeer "gone": Secret "ns/absent" named in spec.passwordSecret does not exist',
      ],
      [
        'opaque',
        'Invalid',
        'BGPPeer "opaque": Secret "ns/o" has type "Opaque"; a BGP password Secret needs type "kubernetes.io/basic-auth"',
      ],
      ['nokey', 'Invalid', 'BGPPeer "nokey": Secret "ns/k" has no "password" key'],
      ['fine', 'Valid', 'BGPPeer "fine" is in use'],
    ]);
  });
});

describe('reportedProblems', () => {
  const withValid = (name: string, status: 'True' | 'False', reason: string, observedGeneration = 2) => ({
    ...obj('BGPPeer', name),
    metadata: { name, namespace: 'ns', generation: 2 },
    status: { conditions: [{ type: 'Valid', status, reason, message: `m-${name}`, observedGeneration }] },
  });
  it('reads back what the controller wrote, skipping valid objects, stale conditions and other kinds', () => {
    expect(
      reportedProblems([
        withValid('missing', 'False', 'MissingReference'),
        withValid('invalid', 'False', 'Invalid'),
        withValid('ok', 'True', 'Valid'),
        withValid('stale', 'False', 'Invalid', 1),
        { ...withValid('pool', 'False', 'Invalid'), kind: 'IPAddressPool' },
        obj('BGPPeer', 'unreported'),
      ]),
    ).toEqual([
      { kind: 'BGPPeer', name: 'missing', namespace: 'ns', message: 'm-missing', retryable: true },
      { kind: 'BGPPeer', name: 'invalid', namespace: 'ns', message: 'm-invalid', retryable: false },
    ]);
  });
});
