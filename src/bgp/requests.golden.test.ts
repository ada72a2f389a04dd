// Golden files for every gRPC request src/bgp builds (regenerate: node speaker/bgp/update-golden.ts).

import { describe, expect, it } from 'vitest';
import { goldenCases } from './testdata/golden-cases.ts';
import addPathIpv4AggregatedIbgp from './testdata/add-path-ipv4-aggregated-ibgp.json' with { type: 'json' };
import addPathIpv4 from './testdata/add-path-ipv4.json' with { type: 'json' };
import addPathIpv6Aggregated from './testdata/add-path-ipv6-aggregated.json' with { type: 'json' };
import addPathIpv6 from './testdata/add-path-ipv6.json' with { type: 'json' };
import addPeerEbgpMultihopDualstack from './testdata/add-peer-ebgp-multihop-dualstack.json' with { type: 'json' };
import addPeerEbgp from './testdata/add-peer-ebgp.json' with { type: 'json' };
import addPeerGracefulRestart from './testdata/add-peer-graceful-restart.json' with { type: 'json' };
import addPeerIbgpMd5Ipv6 from './testdata/add-peer-ibgp-md5-ipv6.json' with { type: 'json' };
import deletePath from './testdata/delete-path.json' with { type: 'json' };
import deletePeer from './testdata/delete-peer.json' with { type: 'json' };
import startBgp from './testdata/start-bgp.json' with { type: 'json' };

const golden: Record<string, unknown> = {
  'add-path-ipv4-aggregated-ibgp': addPathIpv4AggregatedIbgp,
  'add-path-ipv4': addPathIpv4,
  'add-path-ipv6-aggregated': addPathIpv6Aggregated,
  'add-path-ipv6': addPathIpv6,
  'add-peer-ebgp-multihop-dualstack': addPeerEbgpMultihopDualstack,
  'add-peer-ebgp': addPeerEbgp,
  'add-peer-graceful-restart': addPeerGracefulRestart,
  'add-peer-ibgp-md5-ipv6': addPeerIbgpMd5Ipv6,
  'delete-path': deletePath,
  'delete-peer': deletePeer,
  'start-bgp': startBgp,
};

describe('golden gRPC requests', () => {
  it('has exactly one golden file per case', () => {
    expect(Object.keys(golden).sort()).toEqual(Object.keys(goldenCases).sort());
  });

  for (const [name, render] of Object.entries(goldenCases)) {
    it(`${name} matches testdata/${name}.json`, () => {
      // Through JSON so an `undefined` field or a Uint8Array would show up as a difference.
      expect(JSON.parse(JSON.stringify(render()))).toEqual(golden[name]);
    });
  }
});
