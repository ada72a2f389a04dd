import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_POOL_ADDRESSES, parseConfig, validateObject } from './parse.ts';
import { InvalidConfigError, MissingReferenceError, problemError } from './problem.ts';

const NS = 'metallb-system';
let clock = 0;
// Each object gets a later creationTimestamp than the one before, unless the test says otherwise.
function meta(name: string, extra: Record<string, unknown> = {}) {
  clock += 1;
  const t = new Date(Date.UTC(2025, 0, 1, 0, 0, clock)).toISOString();
  return { name, namespace: NS, creationTimestamp: t, ...extra };
}
const pool = (
  name: string,
  addresses: string[],
  spec: Record<string, unknown> = {},
  labels?: Record<string, string>,
) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: meta(name, labels ? { labels } : {}),
  spec: { addresses, ...spec },
});
const l2 = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: meta(name),
  spec,
});
const bgpAdv = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'BGPAdvertisement',
  metadata: meta(name),
  spec,
});
const peer = (name: string, spec: Record<string, unknown>, version = 'v1beta2') => ({
  apiVersion: `metallb.io/${version}`,
  kind: 'BGPPeer',
  metadata: meta(name),
  spec: { myASN: 64500, peerASN: 64512, peerAddress: '192.0.2.1', ...spec },
});
const community = (name: string, communities: Array<{ name: string; value: string }>) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'Community',
  metadata: meta(name),
  spec: { communities },
});
const bfd = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'BFDProfile',
  metadata: meta(name),
  spec,
});
const secret = (
  name: string,
  data: Record<string, string>,
  type = 'kubernetes.io/basic-auth',
  namespace = NS,
) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  type,
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
});

function only(objects: unknown[], options = { namespace: NS }) {
  const r = parseConfig(objects, options);
  return r.problems.map((p) => p.message);
}

describe('parseConfig: a working lab configuration', () => {
  it('builds the model with defaults applied', () => {
    const { config, problems } = parseConfig(
      [
        pool('l2', ['192.0.2.200-192.0.2.250', '2001:db8:0:1::c8-2001:db8:0:1::fa'], {}, { tier: 'l2' }),
        pool('bgp', ['198.51.100.0/24'], {
          autoAssign: false,
          avoidBuggyIPs: true,
          serviceAllocation: {
            priority: 10,
            namespaces: ['prod'],
            serviceSelectors: [{ matchLabels: { app: 'web' } }],
          },
        }),
        l2('l2', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'l2' } }], interfaces: ['eth0'] }),
        bgpAdv('bgp', {
          ipAddressPools: ['bgp'],
          aggregationLength: 24,
          localPref: 100,
          communities: ['65000:100', 'large:1:2:3', 'no-export'],
        }),
        community('names', [{ name: 'no-export', value: '65535:65281' }]),
        bfd('fast', { receiveInterval: 50, transmitInterval: 50 }),
        peer('router', {
          holdTime: '9s',
          bfdProfile: 'fast',
          passwordSecret: { name: 'bgp-pass', namespace: NS },
        }),
        secret('bgp-pass', { password: 's3cret' }),
        { kind: 'Namespace', metadata: { name: 'prod' } },
      ],
      { namespace: NS },
    );
    expect(problems).toEqual([]);
    expect([...config.pools.keys()]).toEqual(['bgp', 'l2']);
    const bgp = config.pools.get('bgp');
    expect(bgp).toMatchObject({ autoAssign: false, avoidBuggyIPs: true });
    expect(bgp?.serviceAllocation).toEqual({
      priority: 10,
      namespaces: ['prod'],
      namespaceSelectors: [],
      serviceSelectors: [{ matchLabels: { app: 'web' } }],
    });
    expect(config.pools.get('l2')?.ranges.map((r) => r.family)).toEqual(['ipv4', 'ipv6']);
    expect(config.l2Advertisements).toEqual([
      { name: 'l2', pools: ['l2'], nodeSelectors: [], interfaces: ['eth0'], serviceSelectors: [] },
    ]);
    expect(config.bgpAdvertisements[0]).toMatchObject({
      pools: ['bgp'],
      aggregationLength: 24,
      aggregationLengthV6: 128,
      localPref: 100,
      communities: [
        { kind: 'standard', asn: 65000, value: 100 },
        { kind: 'large', global: 1, local1: 2, local2: 3 },
        { kind: 'standard', asn: 65535, value: 65281 },
      ],
      peers: [],
    });
    expect(config.peers[0]).toMatchObject({
      name: 'router',
      myASN: 64500,
      peerASN: 64512,
      address: '192.0.2.1',
      port: 179,
      holdTime: 9,
      keepaliveTime: 3,
      password: 's3cret',
      bfdProfile: 'fast',
      ebgpMultiHop: false,
    });
    expect(config.bfdProfiles.get('fast')).toEqual({
      name: 'fast',
      receiveInterval: 50,
      transmitInterval: 50,
      detectMultiplier: 3,
      echoInterval: 50,
      echoMode: false,
      passiveMode: false,
      minimumTtl: 254,
    });
  });

  it('an advertisement with no pools named covers every pool; unknown kinds are ignored', () => {
    const { config, problems } = parseConfig([
      pool('a', ['10.0.0.0/24']),
      pool('b', ['10.0.1.0/24']),
      l2('all'),
      { kind: 'ConfigMap', metadata: { name: 'x' } },
      'not an object',
    ]);
    expect(problems).toEqual([]);
    expect(config.l2Advertisements[0]?.pools).toEqual(['a', 'b']);
  });
});

describe('parseConfig: IPAddressPool validation', () => {
  it.each([
    [['10.0.0.5-10.0.0.1'], 'IPAddressPool "lab": address range "10.0.0.5-10.0.0.1" is reversed'],
    [
      ['10.0.0.1'],
      'IPAddressPool "lab": address "10.0.0.1" is a single address: write "10.0.0.1/32" for one address',
    ],
    [['2001:db8::1'], 'write "2001:db8::1/128"'],
    [['10.0.0.0/33'], 'prefix length 33, more than 32'],
    [['10.0.0.0/24x'], 'IPAddressPool "lab": "10.0.0.0/24x" has an invalid prefix length'],
    [[], 'IPAddressPool "lab": spec.addresses is empty'],
    [
      ['10.0.0.0/24', '10.0.0.128/25'],
      'IPAddressPool "lab": address ranges "10.0.0.0/24" and "10.0.0.128/25" overlap',
    ],
  ])('%j → %s', (addresses, message) => {
    const [msg] = only([pool('lab', addresses)]);
    expect(msg).toContain(message);
  });

  it.each([
    [{ autoAssign: 'yes' }, 'spec.autoAssign must be a boolean'],
    [{ serviceAllocation: { priority: -1 } }, 'spec.serviceAllocation.priority -1 is out of range'],
    [{ serviceAllocation: { namespaces: ['a', 'a'] } }, 'spec.serviceAllocation.namespaces lists "a" twice'],
    [
      { serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In' }] }] } },
      'operator "In" needs values',
    ],
    [
      {
        serviceAllocation: { namespaceSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] },
      },
      'has the same selector twice',
    ],
    [
      { serviceAllocation: { serviceSelectors: [{ matchLabels: { 'bad key!': 'x' } }] } },
      'label key "bad key!" is invalid',
    ],
  ])('spec %j → %s', (spec, message) => {
    const [msg] = only([pool('lab', ['10.0.0.0/24'], spec)]);
    expect(msg).toContain(message);
  });

  it('overlapping pools: the newer pool is rejected, the message names both, the older pool still works', () => {
    const older = pool('older', ['10.0.0.0/24']);
    const newer = pool('newer', ['10.0.0.100-10.0.0.110', '10.9.0.0/24']);
    for (const objects of [
      [older, newer],
      [newer, older],
    ]) {
      const { config, problems } = parseConfig(objects);
      expect(problems).toEqual([
        {
          kind: 'IPAddressPool',
          name: 'newer',
          namespace: NS,
          message:
            'IPAddressPool "newer": address range "10.0.0.100-10.0.0.110" overlaps address range "10.0.0.0/24" of IPAddressPool "older"',
          retryable: false,
        },
      ]);
      expect([...config.pools.keys()]).toEqual(['older']);
    }
  });

  it.each([
    [['0.0.0.0/32'], '"0.0.0.0/32" includes addresses in 0.0.0.0/32 (unspecified)'],
    [['255.255.255.255/32'], '"255.255.255.255/32" includes addresses in 255.255.255.255/32 (broadcast)'],
    [['127.0.0.1/32'], '127.0.0.0/8 (loopback)'],
    [['224.0.0.0/4'], '224.0.0.0/4 (multicast)'],
    [['169.254.1.1/32'], '169.254.0.0/16 (link-local)'],
    [['240.0.0.0/4'], '240.0.0.0/4 (reserved)'],
    [['::1/128'], '::1/128 (loopback)'],
    [['::/128'], '::/128 (unspecified)'],
    [['ff02::1/128'], 'ff00::/8 (multicast)'],
    [['fe80::/64'], 'fe80::/10 (link-local)'],
    [['::ffff:192.0.2.1/128'], '::ffff:0:0/96 (IPv4-mapped)'],
    // partly special: the whole pool is refused, not silently shrunk
    [['192.0.2.0/24', '0.0.0.0/31'], 'IPAddressPool "lab": address range "0.0.0.0/31" includes addresses in'],
  ])('special addresses %j are refused: %s', (addresses, message) => {
    const [msg] = only([pool('lab', addresses)]);
    expect(msg).toContain(message);
    expect(msg).toContain('which no Service may receive');
  });

  it('documentation ranges stay usable (the lab uses them)', () => {
    expect(only([pool('lab', ['192.0.2.200-192.0.2.250', '198.51.100.0/24', '2001:db8:0:1::/64'])])).toEqual(
      [],
    );
  });

  it('more than 1,024 entries are refused before any is parsed', () => {
    const addresses = Array.from({ length: MAX_POOL_ADDRESSES + 1 }, () => 'not parsed');
    expect(only([pool('lab', addresses)])).toEqual([
      `IPAddressPool "lab": spec.addresses has ${MAX_POOL_ADDRESSES + 1} entries, more than ${MAX_POOL_ADDRESSES}`,
    ]);
  });

  it('overlaps inside a pool are found wherever the two entries sit', () => {
    const addresses = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    addresses.splice(3, 0, '10.3.200.0/25');
    expect(only([pool('lab', addresses)])).toEqual([
      'IPAddressPool "lab": address ranges "10.3.200.0/25" and "10.3.200.0/24" overlap',
    ]);
  });

  it('IPv4 and IPv6 never overlap, however the numbers compare', () => {
    expect(only([pool('v4', ['10.0.0.0/8']), pool('v6', ['::a00:0/104'])])).toEqual([]);
  });

  it('one bad pool never drops the others', () => {
    const { config, problems } = parseConfig([
      pool('good', ['10.0.0.0/24']),
      pool('bad', ['nope']),
      pool('also', ['10.0.1.0/24']),
    ]);
    expect(problems.map((p) => p.name)).toEqual(['bad']);
    expect([...config.pools.keys()]).toEqual(['also', 'good']);
  });

  it('a duplicated name rejects the newer object', () => {
    const a = pool('dup', ['10.0.0.0/24']);
    const b = { ...pool('dup', ['10.0.1.0/24']), metadata: { ...meta('dup'), namespace: 'other' } };
    expect(only([b, a])).toEqual(['IPAddressPool "dup": another IPAddressPool is already named "dup"']);
  });
});

describe('parseConfig: communities', () => {
  it.each([
    ['65536:1', 'community "65536:1" is invalid: both parts must be numbers from 0 to 65535', false],
    ['a:1', 'community "a:1" is invalid', false],
    ['large:1:2:4294967296', 'large community parts must be numbers from 0 to 4294967295', false],
    ['big:1:2:3', 'a large community is written "large:<global>:<local1>:<local2>"', false],
    ['my-community', 'community "my-community" is neither a value', true],
    ['1:2:3', 'community "1:2:3" is neither a value', true],
  ])('advertisement community %j → %s (retryable %s)', (value, message, retryable) => {
    const { problems } = parseConfig([bgpAdv('adv', { communities: [value] })]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain(message);
    expect(problems[0]?.message).toMatch(/^BGPAdvertisement "adv": /);
    expect(problems[0]?.retryable).toBe(retryable);
  });

  it('the advertisement waiting for its Community object works once the object arrives', () => {
    const adv = bgpAdv('adv', { communities: ['gold'] });
    expect(parseConfig([adv]).problems[0]?.retryable).toBe(true);
    const { config, problems } = parseConfig([adv, community('c', [{ name: 'gold', value: '64500:1' }])]);
    expect(problems).toEqual([]);
    expect(config.bgpAdvertisements[0]?.communities).toEqual([{ kind: 'standard', asn: 64500, value: 1 }]);
  });

  it('a Community object with a bad value or a name already taken is rejected', () => {
    expect(
      only([
        community('first', [{ name: 'gold', value: '1:1' }]),
        community('second', [{ name: 'gold', value: '2:2' }]),
        community('third', [{ name: 'x', value: '70000:1' }]),
      ]),
    ).toEqual([
      'Community "second": community name "gold" is already defined by Community "first"',
      'Community "third": community "x": community "70000:1" is invalid: both parts must be numbers from 0 to 65535',
    ]);
  });

  it('a community listed twice is rejected', () => {
    expect(only([bgpAdv('adv', { communities: ['1:1', '1:1'] })])).toEqual([
      'BGPAdvertisement "adv": spec.communities lists "1:1" twice',
    ]);
  });
});

describe('parseConfig: BGPAdvertisement aggregation', () => {
  it.each([
    [['10.0.0.0/24'], { aggregationLength: 24 }, undefined],
    [
      ['10.0.0.0/24'],
      { aggregationLength: 16 },
      'spec.aggregationLength 16 is shorter than prefix length 24 of address "10.0.0.0/24" in IPAddressPool "p"',
    ],
    [['10.0.0.0-10.0.0.3'], { aggregationLength: 30 }, undefined],
    [['10.0.0.1-10.0.0.6'], { aggregationLength: 30 }, 'shorter than prefix length 31'],
    [
      ['2001:db8::/64'],
      { aggregationLengthV6: 48 },
      'spec.aggregationLengthV6 48 is shorter than prefix length 64',
    ],
    [['2001:db8::/64'], { aggregationLengthV6: 64, aggregationLength: 8 }, undefined], // no IPv4 range: v4 length unused
    [['10.0.0.0/24'], { aggregationLength: 33 }, 'spec.aggregationLength 33 is out of range (0 to 32)'],
    [
      ['10.0.0.0/24'],
      { aggregationLengthV6: 129 },
      'spec.aggregationLengthV6 129 is out of range (0 to 128)',
    ],
  ])('pool %j with %j → %s', (addresses, spec, message) => {
    const msgs = only([pool('p', addresses), bgpAdv('adv', spec)]);
    if (message === undefined) expect(msgs).toEqual([]);
    else expect(msgs[0]).toContain(message);
  });

  it('two advertisements with the same spec: the newer one is rejected', () => {
    expect(only([bgpAdv('a', { localPref: 5 }), bgpAdv('b', { localPref: 5 })])).toEqual([
      'BGPAdvertisement "b": spec is identical to BGPAdvertisement "a"',
    ]);
  });
});

describe('parseConfig: BGPPeer', () => {
  it.each([
    ['defaults: hold 90s, keepalive 30s', {}, { holdTime: 90, keepaliveTime: 30 }],
    ['hold only: keepalive is a third', { holdTime: '30s' }, { holdTime: 30, keepaliveTime: 10 }],
    ['keepalive only: hold is three times', { keepaliveTime: '20s' }, { holdTime: 60, keepaliveTime: 20 }],
    ['hold 0 disables keepalives', { holdTime: '0s' }, { holdTime: 0, keepaliveTime: 0 }],
    ['Go duration syntax', { holdTime: '1m30s', keepaliveTime: '30s' }, { holdTime: 90, keepaliveTime: 30 }],
    ['v1beta1 shape', { password: 'inline' }, { password: 'inline', port: 179 }],
    ['dynamic ASN', { peerASN: undefined, dynamicASN: 'external' }, { dynamicASN: 'external' }],
    ['IPv6 peer written canonically', { peerAddress: '2001:DB8::0001' }, { address: '2001:db8::1' }],
    ['ebgpMultiHop for eBGP', { ebgpMultiHop: true }, { ebgpMultiHop: true }],
    ['connect time', { connectTime: '5s' }, { connectTime: 5 }],
  ])('%s', (_story, spec, want) => {
    const { config, problems } = parseConfig([peer('p', spec, 'v1beta1')]);
    expect(problems).toEqual([]);
    expect(config.peers[0]).toMatchObject(want);
  });

  it.each([
    ['hold under 3s', { holdTime: '2s' }, 'spec.holdTime "2s" is invalid: it must be 0 or at least 3s'],
    ['keepalive deriving a short hold', { keepaliveTime: '500ms' }, 'gives a holdTime of 1.5s'],
    [
      'keepalive over hold',
      { holdTime: '30s', keepaliveTime: '40s' },
      'spec.keepaliveTime "40s" must not be longer than spec.holdTime "30s"',
    ],
    ['bad duration', { holdTime: 'ninety' }, 'spec.holdTime "ninety" is not a duration'],
    ['no myASN', { myASN: 0 }, 'spec.myASN is missing'],
    ['ASN too big', { myASN: 4294967296 }, 'spec.myASN 4294967296 is out of range'],
    ['no peer ASN', { peerASN: undefined }, 'spec.peerASN or spec.dynamicASN is required'],
    ['both ASN kinds', { dynamicASN: 'internal' }, 'spec.peerASN and spec.dynamicASN are both set'],
    ['bad dynamic ASN', { peerASN: undefined, dynamicASN: 'auto' }, 'spec.dynamicASN "auto" is invalid'],
    [
      'ebgpMultiHop on iBGP',
      { peerASN: 64500, ebgpMultiHop: true },
      'spec.ebgpMultiHop is set but the session is iBGP',
    ],
    [
      'ebgpMultiHop on dynamic internal',
      { peerASN: undefined, dynamicASN: 'internal', ebgpMultiHop: true },
      'iBGP',
    ],
    [
      'bad address',
      { peerAddress: '192.0.2.300' },
      'spec.peerAddress "192.0.2.300" is not a valid IP address',
    ],
    ['no address', { peerAddress: undefined }, 'spec.peerAddress is missing'],
    ['IPv6 router ID', { routerID: '2001:db8::1' }, 'spec.routerID "2001:db8::1" must be an IPv4 address'],
    ['port 0', { peerPort: 0 }, 'spec.peerPort 0 is out of range (1 to 65535)'],
    ['connect time in ms', { connectTime: '1500ms' }, 'must be whole seconds from 1s to 65535s'],
    [
      'both passwords',
      { password: 'x', passwordSecret: { name: 's' } },
      'spec.password and spec.passwordSecret are both set',
    ],
    [
      'bad node selector',
      { nodeSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }] },
      'takes no values',
    ],
  ])('%s is rejected', (_story, spec, message) => {
    const msgs = only([peer('p', spec)]);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toContain(message);
    expect(msgs[0]).toMatch(/^BGPPeer "p": /);
  });

  it('password Secret: missing is retryable, then type and key are checked, and the password never shows', () => {
    const p = peer('p', { passwordSecret: { name: 'bgp', namespace: NS } });
    const story: Array<[unknown[], string | undefined, boolean]> = [
      [[p], 'BGPPeer "p": Secret "metallb-system/bgp" named in spec.passwordSecret does not exist', true],
      [
        [p, secret('bgp', { password: 'hunter2' }, 'Opaque')],
        'has type "Opaque"; a BGP password Secret needs type "kubernetes.io/basic-auth"',
        false,
      ],
      [
        [p, secret('bgp', { username: 'hunter2' })],
        'Secret "metallb-system/bgp" has no "password" key',
        false,
      ],
      [[p, secret('bgp', { password: 'hunter2' })], undefined, false],
    ];
    for (const [objects, message, retryable] of story) {
      const { config, problems } = parseConfig(objects, { namespace: NS });
      if (message === undefined) {
        expect(problems).toEqual([]);
        expect(config.peers[0]?.password).toBe('hunter2');
        continue;
      }
      expect(problems[0]?.message).toContain(message);
      expect(problems[0]?.message).not.toContain('hunter2');
      expect(problems[0]?.retryable).toBe(retryable);
    }
  });

  it('a password Secret outside the load balancer namespace is refused', () => {
    const msgs = only([
      peer('p', { passwordSecret: { name: 'bgp', namespace: 'default' } }),
      secret('bgp', { password: 'x' }, undefined, 'default'),
    ]);
    expect(msgs[0]).toContain(
      'spec.passwordSecret must name a Secret in namespace "metallb-system", not "default"',
    );
  });

  it('a peer naming a BFDProfile waits for it (retryable); a terminal problem is reported first', () => {
    const { problems } = parseConfig([peer('p', { bfdProfile: 'slow' })]);
    expect(problems).toMatchObject([
      { message: 'BGPPeer "p": BFDProfile "slow" named in spec.bfdProfile does not exist', retryable: true },
    ]);
    const both = parseConfig([peer('p', { bfdProfile: 'slow', holdTime: '1s' })]).problems;
    expect(both[0]?.retryable).toBe(false);
    expect(parseConfig([peer('p', { bfdProfile: 'slow' }), bfd('slow')]).problems).toEqual([]);
  });
});

describe('parseConfig: BFDProfile ranges', () => {
  it.each([
    [{ receiveInterval: 9 }, 'spec.receiveInterval 9 is out of range (10 to 60000)'],
    [{ transmitInterval: 60001 }, 'spec.transmitInterval 60001 is out of range (10 to 60000)'],
    [{ detectMultiplier: 1 }, 'spec.detectMultiplier 1 is out of range (2 to 255)'],
    [{ echoInterval: 5 }, 'spec.echoInterval 5 is out of range (10 to 60000)'],
    [{ minimumTtl: 255 }, 'spec.minimumTtl 255 is out of range (1 to 254)'],
    [{ echoMode: 'on' }, 'spec.echoMode must be a boolean'],
  ])('%j → %s', (spec, message) => {
    expect(only([bfd('b', spec)])).toEqual([`BFDProfile "b": ${message}`]);
  });
});

describe('parseConfig: L2Advertisement', () => {
  it('resolves names and selectors to existing pools and rejects duplicates', () => {
    const { config } = parseConfig([
      pool('a', ['10.0.0.0/24'], {}, { zone: 'x' }),
      pool('b', ['10.0.1.0/24']),
      l2('named', { ipAddressPools: ['b', 'ghost'] }),
      l2('selected', { ipAddressPoolSelectors: [{ matchLabels: { zone: 'x' } }] }),
    ]);
    expect(config.l2Advertisements.map((a) => [a.name, a.pools])).toEqual([
      ['named', ['b']],
      ['selected', ['a']],
    ]);
    expect(only([l2('d', { ipAddressPools: ['a', 'a'] })])).toEqual([
      'L2Advertisement "d": spec.ipAddressPools lists "a" twice',
    ]);
  });
});

describe('problem errors', () => {
  it('terminal and retryable problems map to distinct error classes with stable codes', () => {
    const terminal = problemError({ kind: 'BGPPeer', name: 'p', message: 'm', retryable: false });
    const retry = problemError({ kind: 'BGPPeer', name: 'p', message: 'm', retryable: true });
    expect(terminal).toBeInstanceOf(InvalidConfigError);
    expect(terminal.code).toBe('invalidConfig');
    expect(retry).toBeInstanceOf(MissingReferenceError);
    expect(retry.code).toBe('missingReference');
  });
});

describe('parseConfig: dangling references', () => {
  it('an advertisement naming a missing or rejected pool still covers the others, with a warning for each', () => {
    const r = parseConfig(
      [
        pool('lab', ['10.0.0.0/24']),
        pool('broken', ['nope']),
        l2('typo', { ipAddressPools: ['lab', 'labb', 'broken'] }),
        bgpAdv('gone', { ipAddressPools: ['gone'] }),
      ],
      { namespace: NS },
    );
    expect(r.config.l2Advertisements.find((a) => a.name === 'typo')?.pools).toEqual(['lab']);
    expect(r.config.bgpAdvertisements.find((a) => a.name === 'gone')?.pools).toEqual([]);
    expect(r.warnings).toEqual([
      {
        kind: 'L2Advertisement',
        name: 'typo',
        namespace: NS,
        retryable: true,
        message:
          'L2Advertisement "typo": IPAddressPool "labb" named in spec.ipAddressPools does not exist: nothing is advertised for it',
      },
      expect.objectContaining({
        name: 'typo',
        message: expect.stringContaining('IPAddressPool "broken" named in spec.ipAddressPools is invalid'),
      }),
      expect.objectContaining({ kind: 'BGPAdvertisement', name: 'gone' }),
    ]);
  });

  it('a rejected object carries its problem, not warnings', () => {
    const r = parseConfig([l2('bad', { ipAddressPools: ['x', 'x'] })], { namespace: NS });
    expect(r.problems).toHaveLength(1);
    expect(r.warnings).toEqual([]);
  });

  it('without Secrets read (controller, webhook) a passwordSecret is neither resolved nor reported', () => {
    const p = peer('p', {
      myASN: 1,
      peerASN: 2,
      peerAddress: '192.0.2.1',
      passwordSecret: { name: 'absent' },
    });
    expect(parseConfig([p], { namespace: NS }).problems[0]?.message).toContain('Secret');
    const unread = parseConfig([p], { namespace: NS, secretsRead: false });
    expect(unread.problems).toEqual([]);
    expect(unread.config.peers[0]?.password).toBeUndefined();
  });
});

describe('validateObject (admission webhook)', () => {
  const existing = [
    pool('lab', ['10.0.0.0/24']),
    bgpAdv('agg', { aggregationLength: 24 }),
    secret('s', { password: 'x' }),
  ];

  it('denies a pool overlapping a stored one, naming both', () => {
    const problems = validateObject('IPAddressPool', pool('new', ['10.0.0.128/25']), {
      existing,
      namespace: NS,
    });
    expect(problems).toEqual([
      expect.objectContaining({
        name: 'new',
        retryable: false,
        message: expect.stringContaining('IPAddressPool "lab"'),
      }),
    ]);
  });

  it('an update replaces the stored version instead of overlapping with itself', () => {
    const edited = { ...pool('lab', ['10.0.0.0/23']), metadata: existing[0]?.metadata };
    expect(validateObject('IPAddressPool', edited, { existing })).toEqual([]);
  });

  it('reports a problem the change causes on another object', () => {
    // Narrowing the pool to a /25 makes the /24 aggregate reach outside it.
    const narrowed = { ...pool('lab', ['10.0.0.0/25']), metadata: existing[0]?.metadata };
    const problems = validateObject('IPAddressPool', narrowed, { existing });
    expect(problems).toEqual([
      expect.objectContaining({ kind: 'BGPAdvertisement', name: 'agg', retryable: false }),
    ]);
  });

  it('admits what may resolve later: the problem is retryable', () => {
    const problems = validateObject('BGPPeer', peer('p', { bfdProfile: 'later' }), { existing });
    expect(problems.every((p) => p.retryable)).toBe(true);
    expect(problems).toHaveLength(1);
  });

  it('old problems of other objects are not blamed on the new one', () => {
    const broken = [...existing, pool('broken', ['x'])];
    expect(validateObject('BFDProfile', bfd('ok'), { existing: broken })).toEqual([]);
  });
});

describe('properties', () => {
  it('the result does not depend on the order of the objects', () => {
    const objects = [
      pool('a', ['10.0.0.0/24']),
      pool('b', ['10.0.0.128/25', '10.1.0.0/24']),
      pool('c', ['10.1.0.0/16']),
      pool('d', ['2001:db8::/64']),
      community('c1', [{ name: 'gold', value: '1:1' }]),
      community('c2', [{ name: 'gold', value: '2:2' }]),
      bgpAdv('x', { communities: ['gold'] }),
      bgpAdv('y', { communities: ['gold'] }),
      peer('p', { bfdProfile: 'f' }),
      bfd('f'),
      l2('l', {}),
    ];
    const want = parseConfig(objects);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(objects, { minLength: objects.length, maxLength: objects.length }),
        (shuffled) => {
          expect(parseConfig(shuffled)).toEqual(want);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('accepted pools never overlap, whatever ranges users write', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 40 }))
      .map(
        ([start, len]) => `10.0.0.${start}-10.0.${Math.floor((start + len) / 256)}.${(start + len) % 256}`,
      );
    fc.assert(
      fc.property(fc.array(fc.array(range, { minLength: 1, maxLength: 3 }), { maxLength: 6 }), (lists) => {
        const { config } = parseConfig(lists.map((addrs, i) => pool(`p${i}`, addrs)));
        const all = [...config.pools.values()].flatMap((p) => p.ranges);
        for (let i = 0; i < all.length; i++) {
          for (let j = i + 1; j < all.length; j++) {
            const [a, b] = [all[i], all[j]];
            if (a && b) expect(a.first <= b.last && b.first <= a.last).toBe(false);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
