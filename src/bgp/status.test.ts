// Fixtures are trimmed from what gobgpd 3.10 answered in speaker/bgp/gobgp.int.test.ts, as @grpc/proto-loader
// decodes it (keepCase, enums as names, longs as strings, Any as {"@type", ...}).

import { describe, expect, it } from 'vitest';
import { buildPathSpec, pathKey } from './path.ts';
import { localPathsFromList, pathFromApi, peerEventFromApi, peerStatusFromApi } from './status.ts';

const t = 'type.googleapis.com/apipb.';

const listedPeer = {
  conf: {
    auth_password: 'ironlb-lab-md5',
    local_asn: 64513,
    neighbor_address: '2001:db8::1',
    peer_asn: 64512,
    type: 'EXTERNAL',
  },
  state: {
    auth_password: '',
    local_asn: 64513,
    neighbor_address: '2001:db8::1',
    peer_asn: 64512,
    session_state: 'ESTABLISHED',
    admin_state: 'UP',
    router_id: '192.0.2.1',
  },
  timers: { config: { connect_retry: '5', hold_time: '9', keepalive_interval: '3' } },
};

const localV4 = {
  pattrs: [
    { origin: 0, '@type': `${t}OriginAttribute` },
    { communities: [4227858532], '@type': `${t}CommunitiesAttribute` },
    {
      communities: [{ global_admin: 64512, local_data1: 1, local_data2: 2 }],
      '@type': `${t}LargeCommunitiesAttribute`,
    },
    { next_hop: '0.0.0.0', '@type': `${t}NextHopAttribute` },
  ],
  nlri: { prefix_len: 32, prefix: '198.51.100.10', '@type': `${t}IPAddressPrefix` },
  best: true,
  family: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  source_asn: 0,
  source_id: '<nil>',
  neighbor_ip: '<nil>',
  uuid: new Uint8Array(0),
};

const localV6 = {
  pattrs: [
    { origin: 0, '@type': `${t}OriginAttribute` },
    { local_pref: 150, '@type': `${t}LocalPrefAttribute` },
    {
      next_hops: ['::'],
      nlris: [{ prefix_len: 128, prefix: '2001:db8:100::10', '@type': `${t}IPAddressPrefix` }],
      family: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
      '@type': `${t}MpReachNLRIAttribute`,
    },
  ],
  nlri: { prefix_len: 128, prefix: '2001:db8:100::10', '@type': `${t}IPAddressPrefix` },
  best: true,
  neighbor_ip: '<nil>',
};

const learned = {
  pattrs: [
    { origin: 0, '@type': `${t}OriginAttribute` },
    { segments: [{ type: 'AS_SEQUENCE', numbers: [64512] }], '@type': `${t}AsPathAttribute` },
    { next_hop: '192.0.2.1', '@type': `${t}NextHopAttribute` },
  ],
  nlri: { prefix_len: 0, prefix: '0.0.0.0', '@type': `${t}IPAddressPrefix` },
  best: true,
  source_asn: 64512,
  neighbor_ip: '192.0.2.1',
};

describe('peerStatusFromApi', () => {
  it('keeps what the speaker needs and never the password ListPeer echoes', () => {
    const status = peerStatusFromApi(listedPeer);
    expect(status).toEqual({
      address: '2001:db8::1',
      peerASN: 64512,
      localASN: 64513,
      sessionState: 'ESTABLISHED',
      adminState: 'UP',
      routerId: '192.0.2.1',
    });
    expect(JSON.stringify(status)).not.toContain('ironlb-lab-md5');
  });

  it('tolerates a peer that never connected', () => {
    expect(
      peerStatusFromApi({
        conf: { neighbor_address: '192.0.2.1', peer_asn: 64512 },
        state: { session_state: 'ACTIVE', router_id: '<nil>' },
      }),
    ).toEqual({
      address: '192.0.2.1',
      peerASN: 64512,
      localASN: 0,
      sessionState: 'ACTIVE',
      adminState: 'UP',
    });
  });
});

describe('peerEventFromApi', () => {
  it.each([
    [
      'INIT',
      { peer: { type: 'INIT', peer: listedPeer }, event: 'peer' },
      { type: 'INIT', established: true },
    ],
    [
      'END_OF_INIT',
      { peer: { type: 'END_OF_INIT', peer: { conf: {} } }, event: 'peer' },
      { type: 'END_OF_INIT' },
    ],
    [
      'STATE',
      {
        peer: {
          type: 'STATE',
          peer: { ...listedPeer, state: { ...listedPeer.state, session_state: 'IDLE' } },
        },
      },
      { type: 'STATE', established: false },
    ],
  ])('%s', (_name, response, expected) => {
    const event = peerEventFromApi(response);
    expect(event?.type).toBe(expected.type);
    if ('established' in expected)
      expect(event?.peer?.sessionState === 'ESTABLISHED').toBe(expected.established);
    else expect(event?.peer).toBeUndefined();
  });

  it('ignores table events', () => {
    expect(peerEventFromApi({ table: { paths: [] }, event: 'table' })).toBeUndefined();
  });
});

describe('pathFromApi / localPathsFromList', () => {
  it('decodes a local IPv4 path to the spec IronLB built for it', () => {
    const built = buildPathSpec(
      '198.51.100.10',
      {
        aggregationLength: 32,
        aggregationLengthV6: 128,
        communities: [4227858532],
        largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
      },
      { towardIBGP: false },
    );
    expect(pathFromApi(localV4)).toEqual({ spec: built, best: true, local: true });
  });

  it('decodes an IPv6 path: next hop from MP_REACH_NLRI, LOCAL_PREF', () => {
    expect(pathKey(pathFromApi(localV6).spec)).toBe('2001:db8:100::10/128 nh=:: c= lc= lp=150');
  });

  it('keeps only the paths gobgpd originated', () => {
    const destinations = [
      { prefix: '0.0.0.0/0', paths: [learned] },
      { prefix: '198.51.100.10/32', paths: [localV4] },
      { prefix: '2001:db8:100::10/128', paths: [localV6] },
    ];
    expect(pathFromApi(learned).local).toBe(false);
    expect(localPathsFromList(destinations).map(pathKey)).toEqual([
      '198.51.100.10/32 nh=0.0.0.0 c=64512:100 lc=64512:1:2 lp=',
      '2001:db8:100::10/128 nh=:: c= lc= lp=150',
    ]);
  });

  it('refuses an NLRI that is not an IP prefix', () => {
    expect(() => pathFromApi({ nlri: { '@type': `${t}EVPNMACIPAdvertisementRoute` } })).toThrow(
      'NLRI type "type.googleapis.com/apipb.EVPNMACIPAdvertisementRoute" is not apipb.IPAddressPrefix',
    );
  });
});
