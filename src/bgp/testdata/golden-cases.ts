// Golden cases for the gRPC requests src/bgp builds. Each entry renders one request; its JSON lives next to this
// file as <name>.json, is compared by requests.golden.test.ts, and is rewritten by speaker/bgp/update-golden.ts.
// The values are lab values (ARCHITECTURE.md): router AS 64512 at 192.0.2.1, node AS 64513 at 192.0.2.11.

import { parseCommunity } from '../../config/community.ts';
import { wireCommunities } from '../community.ts';
import { buildAddPathRequest, buildDeletePathRequest, buildPathSpec, type PathParams } from '../path.ts';
import { buildAddPeerRequest, buildDeletePeerRequest, buildStartBgpRequest } from '../peer.ts';
import { parsePathUuid } from '../uuid.ts';

function communities(...texts: string[]): Pick<PathParams, 'communities' | 'largeCommunities'> {
  return wireCommunities(
    texts.map((text) => {
      const c = parseCommunity(text);
      if (!c.ok) throw new Error(c.message);
      return c.community;
    }),
  );
}

const hostRoutes = { aggregationLength: 32, aggregationLengthV6: 128 };

/** goldenCases maps a golden file name (without .json) to the request it must contain. */
export const goldenCases: Readonly<Record<string, () => unknown>> = {
  'start-bgp': () => buildStartBgpRequest({ asn: 64513, routerId: '192.0.2.11' }),
  'add-path-ipv4': () =>
    buildAddPathRequest(
      buildPathSpec(
        '198.51.100.10',
        { ...hostRoutes, localPref: 150, ...communities('64512:100', '65535:65281', 'large:64512:1:2') },
        { towardIBGP: false },
      ),
    ),
  'add-path-ipv4-aggregated-ibgp': () =>
    buildAddPathRequest(
      buildPathSpec(
        '198.51.100.77',
        { aggregationLength: 24, aggregationLengthV6: 128, localPref: 150, ...communities('64512:200') },
        { towardIBGP: true, nextHop: { ipv4: '192.0.2.11' } },
      ),
    ),
  'add-path-ipv6': () =>
    buildAddPathRequest(
      buildPathSpec(
        '2001:db8:100::10',
        { ...hostRoutes, ...communities('64512:100', 'large:64512:1:2') },
        { towardIBGP: false },
      ),
    ),
  'add-path-ipv6-aggregated': () =>
    buildAddPathRequest(
      buildPathSpec(
        '2001:db8:100:0:0:0:1:10',
        { aggregationLength: 32, aggregationLengthV6: 64, ...communities() },
        { towardIBGP: false },
      ),
    ),
  'delete-path': () => buildDeletePathRequest(parsePathUuid('3f2504e0-4f89-41d3-9a0c-0305e82c3301')),
  'add-peer-ebgp': () =>
    buildAddPeerRequest({
      address: '192.0.2.1',
      peerASN: 64512,
      myASN: 64513,
      holdTime: 90,
      keepaliveTime: 30,
      families: { ipv4: true, ipv6: false },
    }),
  'add-peer-ibgp-md5-ipv6': () =>
    buildAddPeerRequest({
      address: '2001:db8::1',
      port: 1179,
      peerASN: 64513,
      myASN: 64513,
      holdTime: 9,
      keepaliveTime: 3,
      connectTime: 10,
      password: 'example-md5-key',
      sourceAddress: '2001:db8::11',
      families: { ipv4: false, ipv6: true },
      description: 'lab-router',
    }),
  'add-peer-ebgp-multihop-dualstack': () =>
    buildAddPeerRequest({
      address: '203.0.113.1',
      peerASN: 64512,
      myASN: 64513,
      holdTime: 180,
      keepaliveTime: 60,
      ebgpMultiHop: true,
      families: { ipv4: true, ipv6: true },
    }),
  'add-peer-graceful-restart': () =>
    buildAddPeerRequest({
      address: '192.0.2.1',
      peerASN: 64512,
      myASN: 64513,
      holdTime: 90,
      keepaliveTime: 30,
      families: { ipv4: true, ipv6: false },
      gracefulRestart: true,
    }),
  'delete-peer': () => buildDeletePeerRequest('2001:DB8:0::1'),
};
