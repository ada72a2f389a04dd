import { describe, expect, it } from 'vitest';
import { configReports } from './conditions.ts';
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
});
