// The API server's verdict on deploy/crds: the examples a MetalLB user would write are accepted (with the
// schema defaults filled in), and malformed objects are refused by the API server itself, with messages a
// user can act on. Runs against the integration control plane (CRDs installed by the harness). The
// validating webhook is not installed here: these are the checks that hold even without the controller.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { runAsync, type RunResult } from '../test/harness/exec.ts';
import { clients, ensureNamespace } from '../test/harness/kube.ts';
import { k8sBin } from '../test/harness/paths.ts';
// The ProvidedContext declaration that types inject('kubeconfig').
import type {} from '../test/integration/global-setup.ts';

const deployDir = dirname(fileURLToPath(import.meta.url));
const kubeconfig = inject('kubeconfig');
const ns = 'deploy-crds';

function kubectl(args: string[], input?: string): Promise<RunResult> {
  return runAsync([k8sBin('kubectl'), `--kubeconfig=${kubeconfig}`, ...args], { input, check: false });
}

/** inNamespace re-homes example documents into the test namespace (they are written for ironlb-system). */
function inNamespace(text: string): string {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { metadata: { namespace?: string } } | null)
    .filter((o) => o !== null)
    .map((o) => stringify({ ...o, metadata: { ...o.metadata, namespace: ns } }))
    .join('---\n');
}

async function getSpec(resource: string, name: string): Promise<Record<string, unknown>> {
  const r = await kubectl(['get', resource, name, '-n', ns, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { spec: Record<string, unknown> }).spec;
}

const header = (apiVersion: string, kind: string, name = 'bad') =>
  `apiVersion: metallb.io/${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${ns}}\n`;
const pool = (spec: string) => `${header('v1beta1', 'IPAddressPool')}spec: ${spec}\n`;
const peer = (spec: string) => `${header('v1beta2', 'BGPPeer')}spec: ${spec}\n`;

beforeAll(async () => {
  await ensureNamespace(clients(kubeconfig), ns);
});

describe('CRDs on a real API server', () => {
  it('accepts every example, as a MetalLB user wrote it', async () => {
    for (const file of readdirSync(join(deployDir, 'examples'))) {
      const r = await kubectl(
        ['apply', '-f', '-'],
        inNamespace(readFileSync(join(deployDir, 'examples', file), 'utf8')),
      );
      expect(r.code, `${file}: ${r.stderr}`).toBe(0);
    }
  });

  it('fills in the defaults MetalLB documents', async () => {
    expect(await getSpec('ipaddresspools.metallb.io', 'lan')).toMatchObject({
      autoAssign: true,
      avoidBuggyIPs: false,
    });
    expect(await getSpec('bgpadvertisements.metallb.io', 'public')).toMatchObject({
      aggregationLength: 32,
      aggregationLengthV6: 128,
    });
    expect(await getSpec('bgppeers.metallb.io', 'router')).toMatchObject({ peerPort: 179 });
    expect(await getSpec('bfdprofiles.metallb.io', 'fast')).toMatchObject({
      echoInterval: 50,
      echoMode: false,
      passiveMode: false,
    });
  });

  it('serves a v1beta1 BGPPeer with a deprecation warning and stores it as v1beta2 unchanged', async () => {
    const r = await kubectl(['get', 'bgppeers.v1beta1.metallb.io', 'router-legacy', '-n', ns, '-o', 'json']);
    expect(r.stderr).toContain('deprecated');
    const v2 = await getSpec('bgppeers.v1beta2.metallb.io', 'router-legacy');
    expect(v2).toMatchObject({
      myASN: 64513,
      peerASN: 64514,
      peerAddress: '192.0.2.3',
      peerPort: 1179,
      holdTime: '90s',
    });
    // Fields that only v1beta2 has are not shown through v1beta1, as MetalLB's conversion drops them.
    const v1 = (
      JSON.parse(
        (await kubectl(['get', 'bgppeers.v1beta1.metallb.io', 'router', '-n', ns, '-o', 'json'])).stdout,
      ) as { spec: object }
    ).spec;
    expect(v1).not.toHaveProperty('connectTime');
    expect(v1).toMatchObject({ peerAddress: '192.0.2.1', holdTime: '9s' });
  });

  // Each row: an object the API server must refuse, and words its answer must contain.
  const refused: [string, string, string][] = [
    ['a bare IP in a pool', pool('{addresses: ["192.0.2.7"]}'), '"192.0.2.7" is neither a CIDR nor a range'],
    ['a range across families', pool('{addresses: ["192.0.2.10-2001:db8::1"]}'), 'of one address family'],
    ['a pool without addresses', pool('{addresses: []}'), 'should have at least 1 items'],
    ['an empty address entry', pool('{addresses: [""]}'), 'at least 1 chars long'],
    [
      'an unknown field',
      pool('{addresses: ["10.0.0.0/8"], protocol: layer2}'),
      'unknown field "spec.protocol"',
    ],
    [
      'In without values',
      pool(
        '{addresses: ["10.0.0.0/8"], serviceAllocation: {serviceSelectors: [{matchExpressions: [{key: a, operator: In}]}]}}',
      ),
      'values must be non-empty',
    ],
    [
      'peerASN and dynamicASN together',
      peer('{myASN: 64513, peerASN: 64512, dynamicASN: external, peerAddress: 192.0.2.1}'),
      'exactly one of peerASN and dynamicASN',
    ],
    [
      'neither peerASN nor dynamicASN',
      peer('{myASN: 64513, peerAddress: 192.0.2.1}'),
      'exactly one of peerASN and dynamicASN',
    ],
    [
      'peerAddress and interface together',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, interface: eth0}'),
      'exactly one of peerAddress and interface',
    ],
    [
      'password and passwordSecret together',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, password: x, passwordSecret: {name: s}}'),
      'password and passwordSecret are mutually exclusive',
    ],
    [
      'a hold time of 2s',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, holdTime: 2s}'),
      'holdTime must be 0 or at least 3s',
    ],
    [
      'keepalive above hold',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, holdTime: 9s, keepaliveTime: 10s}'),
      'keepaliveTime must not exceed holdTime',
    ],
    [
      'a hold time without unit',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, holdTime: "90"}'),
      'spec.holdTime in body should match',
    ],
    [
      'ebgpMultiHop on iBGP',
      peer('{myASN: 64513, peerASN: 64513, peerAddress: 192.0.2.1, ebgpMultiHop: true}'),
      'ebgpMultiHop cannot be set for an iBGP peer',
    ],
    [
      'a host name as peer address',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: router.example}'),
      'is not an IP address',
    ],
    [
      'an IPv6 router ID',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, routerID: "2001:db8::1"}'),
      'is not an IPv4 address',
    ],
    [
      'a fractional connect time',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, connectTime: 1500ms}'),
      'whole number of seconds',
    ],
    [
      'a 33-bit ASN',
      peer('{myASN: 4294967296, peerASN: 64512, peerAddress: 192.0.2.1}'),
      'less than or equal to 4294967295',
    ],
    [
      'a v1beta1 peer without peerASN',
      `${header('v1beta1', 'BGPPeer')}spec: {myASN: 64513, peerAddress: 192.0.2.1}\n`,
      'spec.peerASN: Required value',
    ],
    [
      'BFD intervals out of range',
      `${header('v1beta1', 'BFDProfile')}spec: {receiveInterval: 5, detectMultiplier: 1}\n`,
      'greater than or equal to 10',
    ],
    [
      'a standard community above 16 bits',
      `${header('v1beta1', 'Community')}spec: {communities: [{name: a, value: "65536:1"}]}\n`,
      'has a number out of range',
    ],
    [
      'a large community above 32 bits',
      `${header('v1beta1', 'Community')}spec: {communities: [{name: a, value: "large:4294967296:1:1"}]}\n`,
      'has a number out of range',
    ],
    [
      'a community that is a word',
      `${header('v1beta1', 'Community')}spec: {communities: [{name: a, value: no-export}]}\n`,
      'should match',
    ],
    [
      'two aliases with one name',
      `${header('v1beta1', 'Community')}spec: {communities: [{name: a, value: "1:1"}, {name: a, value: "1:2"}]}\n`,
      'Duplicate value',
    ],
    [
      'a bad community in an advertisement',
      `${header('v1beta1', 'BGPAdvertisement')}spec: {communities: ["65000:100000"]}\n`,
      '"65000:100000" is not a community',
    ],
    [
      'an aggregation length of 33',
      `${header('v1beta1', 'BGPAdvertisement')}spec: {aggregationLength: 33}\n`,
      'less than or equal to 32',
    ],
    [
      'Exists with values',
      `${header('v1beta1', 'L2Advertisement')}spec: {nodeSelectors: [{matchExpressions: [{key: a, operator: Exists, values: [x]}]}]}\n`,
      'empty for Exists',
    ],
    [
      'a preference weight of 101',
      `${header('v1beta1', 'L2Advertisement')}spec: {preferredNodeSelectors: [{weight: 101, preference: {}}]}\n`,
      'less than or equal to 100',
    ],
  ];

  it.each(refused)('refuses %s', async (_story, yaml, words) => {
    const r = await kubectl(['create', '--dry-run=server', '-f', '-'], yaml);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(words);
  });

  const accepted: [string, string][] = [
    [
      'a range with spaces around the dash',
      pool('{addresses: ["192.0.2.10 - 192.0.2.20", "2001:db8::/64"]}'),
    ],
    [
      'hold time 0 (no keepalives)',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, holdTime: 0s}'),
    ],
    [
      'password with an empty passwordSecret, as MetalLB clients write it',
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, password: x, passwordSecret: {}}'),
    ],
    ['dynamicASN with an interface', peer('{myASN: 64513, dynamicASN: external, interface: eth1}')],
    [
      'communities, large communities and aliases',
      `${header('v1beta1', 'BGPAdvertisement')}spec: {communities: ["65000:100", "large:1:2:3", "my-alias"], localPref: 200}\n`,
    ],
  ];

  it.each(accepted)('accepts %s', async (_story, yaml) => {
    const r = await kubectl(['create', '--dry-run=server', '-f', '-'], yaml);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('keeps enableGracefulRestart fixed after creation', async () => {
    const created = await kubectl(
      ['apply', '-f', '-'],
      peer('{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.9, enableGracefulRestart: true}').replace(
        'name: bad',
        'name: gr',
      ),
    );
    expect(created.code, created.stderr).toBe(0);
    const r = await kubectl([
      'patch',
      'bgppeers.metallb.io',
      'gr',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"enableGracefulRestart":false}}',
    ]);
    expect(r.stderr).toContain('enableGracefulRestart cannot be changed after creation');
  });

  it('lets the speaker write ServiceL2Status once per node, and refuses moving it to another node', async () => {
    const created = await kubectl(['apply', '-f', '-'], header('v1beta1', 'ServiceL2Status', 'l2-web'));
    expect(created.code, created.stderr).toBe(0);
    const status = {
      status: { node: 'n1', serviceName: 'web', serviceNamespace: 'default', interfaces: [{ name: 'eth0' }] },
    };
    const ok = await kubectl([
      'patch',
      'servicel2statuses.metallb.io',
      'l2-web',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const moved = await kubectl([
      'patch',
      'servicel2statuses.metallb.io',
      'l2-web',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"node":"n2"}}',
    ]);
    expect(moved.stderr).toContain('node is immutable');
  });

  it('takes address conflicts in IPAddressPool status and shows them in the wide listing', async () => {
    const status = {
      status: {
        assignedIPv4: 1,
        availableIPv4: 50,
        conflicts: [
          {
            address: '192.0.2.201',
            reason: 'ARPReply',
            detectedBy: 'lab-node-2',
            lastSeen: '2026-01-01T00:00:00Z',
          },
        ],
      },
    };
    const ok = await kubectl([
      'patch',
      'ipaddresspools.metallb.io',
      'lan',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const wide = await kubectl(['get', 'ipaddresspools.metallb.io', 'lan', '-n', ns, '-o', 'wide']);
    expect(wide.stdout).toMatch(/AUTO ASSIGN\s+AVOID BUGGY IPS\s+ADDRESSES/);
    expect(wide.stdout).toContain('192.0.2.201');
    const bad = await kubectl([
      'patch',
      'ipaddresspools.metallb.io',
      'lan',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"conflicts":[{"address":"not-an-ip","reason":"x"}]}}',
    ]);
    expect(bad.stderr).toContain('address must be an IP address');
  });
});
