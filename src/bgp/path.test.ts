import { describe, expect, it } from 'vitest';
import { parseCommunity } from '../config/community.ts';
import { wireCommunities } from './community.ts';
import {
  buildAddPathRequest,
  buildDeletePathRequest,
  buildDesiredPaths,
  buildPathSpec,
  mergePathSpecs,
  pathKey,
  type PathParams,
} from './path.ts';
import type { PathUuid } from './uuid.ts';

const c = (text: string): number => {
  const parsed = parseCommunity(text);
  if (!parsed.ok || parsed.community.kind !== 'standard')
    throw new Error('test expects a standard community');
  return wireCommunities([parsed.community]).communities[0] as number;
};
const host: PathParams = {
  aggregationLength: 32,
  aggregationLengthV6: 128,
  communities: [],
  largeCommunities: [],
};

describe('buildPathSpec', () => {
  it('announces a host route with next hop self by default', () => {
    expect(buildPathSpec('198.51.100.10', host, { towardIBGP: false })).toEqual({
      prefix: { family: 'ipv4', address: '198.51.100.10', length: 32 },
      nextHop: '0.0.0.0',
      communities: [],
      largeCommunities: [],
    });
    expect(buildPathSpec('2001:db8:100::10', host, { towardIBGP: false }).nextHop).toBe('::');
  });

  it('aggregates with the length of the address family', () => {
    const params = { ...host, aggregationLength: 24, aggregationLengthV6: 64 };
    expect(buildPathSpec('198.51.100.77', params, { towardIBGP: false }).prefix).toEqual({
      family: 'ipv4',
      address: '198.51.100.0',
      length: 24,
    });
    expect(buildPathSpec('2001:db8:100::1:10', params, { towardIBGP: false }).prefix.address).toBe(
      '2001:db8:100::',
    );
  });

  it('attaches LOCAL_PREF only toward iBGP', () => {
    const params = { ...host, localPref: 150 };
    expect(buildPathSpec('198.51.100.10', params, { towardIBGP: true }).localPref).toBe(150);
    expect(buildPathSpec('198.51.100.10', params, { towardIBGP: false })).not.toHaveProperty('localPref');
  });

  it('normalizes communities and next hops', () => {
    const spec = buildPathSpec(
      '2001:db8:100::10',
      { ...host, communities: [c('64512:200'), c('64512:100'), c('64512:200')] },
      { towardIBGP: false, nextHop: { ipv6: '2001:DB8:0::11' } },
    );
    expect(spec.communities).toEqual([c('64512:100'), c('64512:200')]);
    expect(spec.nextHop).toBe('2001:db8::11');
  });

  it.each([
    ['not-an-ip', host, {}, TypeError, 'Invalid IP address "not-an-ip"'],
    [
      '198.51.100.10',
      { ...host, aggregationLength: 33 },
      {},
      RangeError,
      'Cannot build path for address "198.51.100.10"',
    ],
    ['198.51.100.10', { ...host, localPref: -1 }, { towardIBGP: true }, RangeError, 'local preference'],
    [
      '198.51.100.10',
      host,
      { nextHop: { ipv4: '2001:db8::11' } },
      TypeError,
      'Invalid next hop "2001:db8::11"',
    ],
    ['198.51.100.10', { ...host, communities: [2 ** 32] }, {}, RangeError, 'standard community'],
  ])('rejects %s with %o', (address, params, options, error, message) => {
    const build = (): unknown => buildPathSpec(address, params, { towardIBGP: false, ...options });
    expect(build).toThrow(error);
    expect(build).toThrow(message);
  });
});

describe('pathKey', () => {
  it('changes with every attribute and only with them', () => {
    const base = buildPathSpec('198.51.100.10', host, { towardIBGP: true });
    const keys = new Set([
      pathKey(base),
      pathKey({ ...base, communities: [1] }),
      pathKey({ ...base, largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] }),
      pathKey({ ...base, localPref: 100 }),
      pathKey({ ...base, nextHop: '192.0.2.11' }),
      pathKey({ ...base, prefix: { ...base.prefix, length: 31 } }),
    ]);
    expect(keys.size).toBe(6);
    expect(pathKey(buildPathSpec('198.51.100.10', host, { towardIBGP: true }))).toBe(pathKey(base));
    expect(pathKey(base)).toBe('198.51.100.10/32 nh=0.0.0.0 c= lc= lp=');
  });
});

describe('mergePathSpecs / buildDesiredPaths', () => {
  it('folds two services aggregated into one /24 into one path', () => {
    const params = (community: string, localPref?: number): PathParams => ({
      ...host,
      aggregationLength: 24,
      communities: [c(community)],
      ...(localPref !== undefined ? { localPref } : {}),
    });
    const paths = buildDesiredPaths(
      [
        { address: '198.51.100.20', params: params('64512:2', 100) },
        { address: '2001:db8:100::10', params: host },
        { address: '198.51.100.10', params: params('64512:1', 200) },
        { address: '192.0.2.200', params: host },
      ],
      { towardIBGP: true },
    );
    expect(paths.map(pathKey)).toEqual([
      '192.0.2.200/32 nh=0.0.0.0 c= lc= lp=',
      '198.51.100.0/24 nh=0.0.0.0 c=64512:1,64512:2 lc= lp=200',
      '2001:db8:100::10/128 nh=:: c= lc= lp=',
    ]);
  });

  it('keeps a LOCAL_PREF given by only one of the merged specs', () => {
    const a = buildPathSpec('198.51.100.10', host, { towardIBGP: true });
    const b = buildPathSpec('198.51.100.10', { ...host, localPref: 50 }, { towardIBGP: true });
    expect(mergePathSpecs([a, b])[0]?.localPref).toBe(50);
    expect(mergePathSpecs([b, a])[0]?.localPref).toBe(50);
  });

  it('refuses to merge different next hops for one prefix', () => {
    const a = buildPathSpec('198.51.100.10', host, { towardIBGP: false });
    const b = buildPathSpec('198.51.100.10', host, { towardIBGP: false, nextHop: { ipv4: '192.0.2.11' } });
    expect(() => mergePathSpecs([a, b])).toThrow('Cannot merge paths for prefix "198.51.100.10/32"');
  });
});

describe('requests', () => {
  it('omits empty community attributes', () => {
    const request = buildAddPathRequest(buildPathSpec('198.51.100.10', host, { towardIBGP: false }));
    expect(request.path.pattrs.map((a) => a['@type'])).toEqual([
      'type.googleapis.com/apipb.OriginAttribute',
      'type.googleapis.com/apipb.NextHopAttribute',
    ]);
  });

  it('cannot build a DeletePath without a real uuid', () => {
    expect(() => buildDeletePathRequest('' as PathUuid)).toThrow(TypeError);
    expect(() => buildDeletePathRequest('00000000-0000-0000-0000-000000000000' as PathUuid)).toThrow(
      TypeError,
    );
  });
});
