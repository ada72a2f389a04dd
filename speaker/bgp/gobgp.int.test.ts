// Integration: the real gobgpd (Debian) driven by GobgpClient/GobgpSidecar, peering with a real FRR bgpd + zebra
// (Debian), each in its own network namespace, joined by a veth:
//
//   ironlb-t-bgp-r (FRR, AS 64512)            ironlb-t-bgp-n (gobgpd, AS 64513)
//   192.0.2.1/24  2001:db8::1/64  ── veth ──  192.0.2.11/24  2001:db8::11/64
//
// gobgpd serves gRPC on a unix socket (the test process stays in the host namespace; a filesystem socket is
// reachable from any namespace, 127.0.0.1 inside ironlb-t-bgp-n would not be). Needs root, gobgpd, FRR.
// Run: npx vitest run speaker/bgp/gobgp.int.test.ts

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDesiredPaths, pathKey, type PathAnnouncement, type PathSpec } from '../../src/bgp/path.ts';
import type { PeerSpec } from '../../src/bgp/peer.ts';
import { planAdoption, planPaths } from '../../src/bgp/plan.ts';
import type { PeerStatus } from '../../src/bgp/status.ts';
import type { PathUuid } from '../../src/bgp/uuid.ts';
import { isPathGone, type GobgpClient } from './gobgp.ts';
import { GobgpSidecar, type GobgpReady } from './sidecar.ts';

const execFileAsync = promisify(execFile);

const ROUTER_NS = 'ironlb-t-bgp-r';
const NODE_NS = 'ironlb-t-bgp-n';
const ROUTER_IF = 'ironlb-tbgp-r';
const NODE_IF = 'ironlb-tbgp-n';
const ROUTER = { v4: '192.0.2.1', v6: '2001:db8::1', asn: 64512 };
const NODE = { v4: '192.0.2.11', v6: '2001:db8::11', asn: 64513 };
const MD5_KEY = 'ironlb-lab-md5';
const TIMEOUT_MS = 60_000;

const canRun =
  process.getuid?.() === 0 &&
  ['/usr/bin/gobgpd', '/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', '/usr/bin/vtysh'].every((f) =>
    existsSync(f),
  );

async function run(argv: readonly string[]): Promise<string> {
  const [file = '', ...args] = argv;
  try {
    return (await execFileAsync(file, args, { timeout: 20_000 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`Command ${JSON.stringify(argv.join(' '))} failed: ${e.stderr || e.message}`, {
      cause: error,
    });
  }
}

async function tryRun(argv: readonly string[]): Promise<void> {
  await run(argv).catch(() => undefined);
}

/** waitFor polls until check returns a value other than undefined/false; bounded by timeoutMs. */
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 100; Date.now() < deadline; delay = Math.min(1_000, delay * 2)) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await sleep(delay);
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

/** FRR's `show bgp <afi> unicast json` route table, reduced to what we check. */
type FrrTable = { routes?: Record<string, Array<{ valid?: boolean; nexthops?: Array<{ ip?: string }> }>> };
type FrrRoute = {
  paths?: Array<{
    community?: { string?: string };
    largeCommunity?: { string?: string };
    locPrf?: number;
    nexthops?: Array<{ ip?: string }>;
    stale?: boolean;
  }>;
};

/** FRR's `show bgp neighbors <address> json`, reduced to the graceful-restart fields we check. */
type FrrNeighbor = {
  bgpState?: string;
  neighborCapabilities?: { gracefulRestart?: string };
  gracefulRestartInfo?: { remoteGrMode?: string; rBit?: boolean };
};

describe.skipIf(!canRun)('gobgpd driven over gRPC, peering with FRR', () => {
  const frrDir = mkdtempSync(join(tmpdir(), 'ironlb-t-bgp-'));
  const socket = `unix://${join(frrDir, 'gobgp.sock')}`;
  const daemons: ChildProcess[] = [];
  let sidecar: GobgpSidecar | undefined;

  // The speaker's state, as the lead's BGP announcer will hold it.
  const peers: PeerSpec[] = [
    {
      address: ROUTER.v4,
      peerASN: ROUTER.asn,
      myASN: NODE.asn,
      holdTime: 9,
      keepaliveTime: 3,
      connectTime: 5,
      families: { ipv4: true, ipv6: false },
      // BGPPeer.enableGracefulRestart on the IPv4 session only: the IPv6 one shows the difference
      gracefulRestart: true,
    },
    {
      address: ROUTER.v6,
      peerASN: ROUTER.asn,
      myASN: NODE.asn,
      holdTime: 9,
      keepaliveTime: 3,
      connectTime: 5,
      password: MD5_KEY,
      families: { ipv4: false, ipv6: true },
    },
  ];
  let desired: PathSpec[] = [];
  let current = new Map<string, PathUuid>();
  const readies: GobgpReady[] = [];
  const peerStates = new Map<string, string>();
  const calls: string[] = [];
  const logLines: string[] = [];
  const record = (fields: object, message: string): void => {
    logLines.push(`${message} ${JSON.stringify(fields)}`);
  };
  const logger = { debug: record, info: record, warn: record, error: record };

  const announce = (address: string, extra: Partial<PathAnnouncement['params']> = {}): PathAnnouncement => ({
    address,
    params: {
      aggregationLength: 32,
      aggregationLengthV6: 128,
      communities: [64512 * 65536 + 100],
      largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
      ...extra,
    },
  });

  /** converge applies planPaths the way the speaker must: adds, then deletes by uuid, then bookkeeping. */
  async function converge(client: GobgpClient): Promise<void> {
    const plan = planPaths(current, desired);
    for (const { key, spec } of plan.add) {
      current.set(key, await client.addPath(spec));
      calls.push(`add ${key}`);
    }
    for (const { key, uuid } of plan.delete) {
      try {
        await client.deletePath(uuid);
      } catch (error) {
        if (!isPathGone(error)) throw error;
      }
      current.delete(key);
      calls.push(`delete ${key}`);
    }
    for (const { key } of plan.superseded) current.delete(key);
  }

  /** adopt takes over a gobgpd that outlived the speaker: re-add what is desired, add-then-delete orphans. */
  async function adopt(client: GobgpClient): Promise<void> {
    const plan = planAdoption(await client.listLocalPaths(), desired);
    current = new Map();
    for (const { key, spec } of plan.add) {
      current.set(key, await client.addPath(spec));
      calls.push(`add ${key}`);
    }
    for (const { key, spec } of plan.orphans) {
      await client.deletePath(await client.addPath(spec));
      calls.push(`orphan ${key}`);
    }
  }

  async function onReady(ready: GobgpReady): Promise<void> {
    readies.push(ready);
    if (ready.fresh) {
      current = new Map();
      await ready.client.startBgp({ asn: NODE.asn, routerId: NODE.v4 });
      for (const peer of peers) await ready.client.addPeer(peer);
      await converge(ready.client);
    } else {
      await adopt(ready.client);
    }
  }

  async function vtysh(command: string): Promise<string> {
    return run(['ip', 'netns', 'exec', ROUTER_NS, 'vtysh', '--vty_socket', frrDir, '-c', command]);
  }

  async function frrTable(family: 'ipv4' | 'ipv6'): Promise<FrrTable> {
    return JSON.parse(await vtysh(`show bgp ${family} unicast json`)) as FrrTable;
  }

  async function frrRoute(family: 'ipv4' | 'ipv6', prefix: string): Promise<FrrRoute> {
    return JSON.parse(await vtysh(`show bgp ${family} unicast ${prefix} json`)) as FrrRoute;
  }

  async function kernelRoute(family: 'ipv4' | 'ipv6', prefix: string): Promise<string> {
    return (
      await run(['ip', '-n', ROUTER_NS, family === 'ipv4' ? '-4' : '-6', 'route', 'show', prefix])
    ).trim();
  }

  async function frrNeighbor(neighbor: string): Promise<FrrNeighbor | undefined> {
    const out = JSON.parse(await vtysh(`show bgp neighbors ${neighbor} json`)) as Record<string, FrrNeighbor>;
    return out[neighbor];
  }

  async function frrEstablished(neighbor: string): Promise<boolean> {
    const out = JSON.parse(await vtysh(`show bgp neighbors ${neighbor} json`)) as Record<
      string,
      { bgpState?: string }
    >;
    return out[neighbor]?.bgpState === 'Established';
  }

  /** md5Failures reads TcpExt TCPMD5Failure (segments with a wrong MD5 signature) in the router namespace. */
  async function md5Failures(): Promise<number> {
    const lines = (await run(['ip', 'netns', 'exec', ROUTER_NS, 'cat', '/proc/net/netstat'])).split('\n');
    const [names, values] = lines.filter((line) => line.startsWith('TcpExt:')).map((line) => line.split(' '));
    return Number(values?.[names?.indexOf('TCPMD5Failure') ?? -1] ?? NaN);
  }

  function startDaemon(name: string, argv: readonly string[]): void {
    const log = openSync(join(frrDir, `${name}.out`), 'a');
    const child = spawn('ip', ['netns', 'exec', ROUTER_NS, ...argv], { stdio: ['ignore', log, log] });
    closeSync(log);
    daemons.push(child);
  }

  async function removeLab(): Promise<void> {
    for (const ns of [ROUTER_NS, NODE_NS]) {
      // Leftovers of an earlier, crashed run of this test: only processes inside our own test namespaces.
      const pids = await run(['ip', 'netns', 'pids', ns]).catch(() => '');
      for (const pid of pids.split('\n').filter((p) => /^[0-9]+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await tryRun(['ip', 'netns', 'delete', ns]);
    }
  }

  beforeAll(async () => {
    await removeLab();
    await run(['ip', 'netns', 'add', ROUTER_NS]);
    await run(['ip', 'netns', 'add', NODE_NS]);
    await run([
      'ip',
      'link',
      'add',
      ROUTER_IF,
      'netns',
      ROUTER_NS,
      'type',
      'veth',
      'peer',
      'name',
      NODE_IF,
      'netns',
      NODE_NS,
    ]);
    for (const [ns, ifname, addr] of [
      [ROUTER_NS, ROUTER_IF, ROUTER],
      [NODE_NS, NODE_IF, NODE],
    ] as const) {
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await run(['ip', '-n', ns, 'addr', 'add', `${addr.v4}/24`, 'dev', ifname]);
      await run(['ip', '-n', ns, 'addr', 'add', `${addr.v6}/64`, 'dev', ifname, 'nodad']);
      await run(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
    }

    // FRR: zebra + bgpd with their sockets in frrDir (owned by frr, which the daemons switch to).
    const uid = Number((await run(['id', '-u', 'frr'])).trim());
    const gid = Number((await run(['id', '-g', 'frr'])).trim());
    chownSync(frrDir, uid, gid);
    for (const daemon of ['zebra', 'bgpd']) {
      const conf = join(frrDir, `${daemon}.conf`);
      writeFileSync(conf, '');
      chownSync(conf, uid, gid);
      startDaemon(daemon, [
        `/usr/lib/frr/${daemon}`,
        ...['-z', join(frrDir, 'zserv.api'), '--vty_socket', frrDir, '-i', join(frrDir, `${daemon}.pid`)],
        ...['-f', conf, '-P', '0'],
      ]);
      const ready = daemon === 'zebra' ? 'zserv.api' : 'bgpd.vty';
      await waitFor(`FRR ${daemon} (${join(frrDir, `${daemon}.out`)})`, async () =>
        existsSync(join(frrDir, ready)),
      );
    }
    const config = join(frrDir, 'router.conf');
    writeFileSync(
      config,
      `frr defaults traditional
hostname ${ROUTER_NS}
router bgp ${ROUTER.asn}
 bgp router-id ${ROUTER.v4}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor ${NODE.v4} remote-as ${NODE.asn}
 neighbor ${NODE.v6} remote-as ${NODE.asn}
 neighbor ${NODE.v6} password ${MD5_KEY}
 address-family ipv4 unicast
  neighbor ${NODE.v4} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor ${NODE.v6} activate
 exit-address-family
`,
    );
    await run(['ip', 'netns', 'exec', ROUTER_NS, 'vtysh', '--vty_socket', frrDir, '-f', config]);
  }, TIMEOUT_MS);

  afterAll(async () => {
    await sidecar?.stop().catch(() => undefined);
    for (const child of daemons) child.kill('SIGTERM');
    await sleep(300);
    for (const child of daemons)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await removeLab();
    rmSync(frrDir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  it(
    'starts gobgpd, waits until it answers, and establishes both sessions (IPv6 one with TCP MD5)',
    async () => {
      sidecar = new GobgpSidecar({
        apiTarget: socket,
        spawn: { wrapper: ['ip', 'netns', 'exec', NODE_NS], logLevel: 'info' },
        onReady,
        logger,
        onPeerEvent: (event) => {
          if (event.peer !== undefined) peerStates.set(event.peer.address, event.peer.sessionState);
        },
      });
      await sidecar.start(20_000);
      expect(readies.map((r) => [r.generation, r.fresh])).toEqual([[1, true]]);
      expect(await sidecar.client.getBgp()).toEqual({ asn: NODE.asn, routerId: NODE.v4, listenPort: -1 });

      const statuses = await waitFor('both sessions Established', async () => {
        const list = await sidecar?.client.listPeers();
        return list?.every((p) => p.sessionState === 'ESTABLISHED') && list.length === 2 ? list : undefined;
      });
      expect(statuses.map((p: PeerStatus) => [p.address, p.peerASN, p.localASN, p.routerId]).sort()).toEqual([
        [ROUTER.v4, ROUTER.asn, NODE.asn, ROUTER.v4],
        [ROUTER.v6, ROUTER.asn, NODE.asn, ROUTER.v4],
      ]);
      expect(JSON.stringify(statuses)).not.toContain(MD5_KEY);
      expect(await frrEstablished(NODE.v4)).toBe(true);
      expect(await frrEstablished(NODE.v6)).toBe(true);
      // enableGracefulRestart: the router sees the capability on the IPv4 session (restarting: R bit), and
      // only there
      const v4 = await frrNeighbor(NODE.v4);
      expect(v4?.neighborCapabilities?.gracefulRestart).toBe('advertisedAndReceived');
      expect(v4?.gracefulRestartInfo?.remoteGrMode).toBe('Restart');
      expect((await frrNeighbor(NODE.v6))?.neighborCapabilities?.gracefulRestart).not.toBe(
        'advertisedAndReceived',
      );
      await waitFor('peer events for both sessions', async () =>
        peerStates.get(ROUTER.v4) === 'ESTABLISHED' && peerStates.get(ROUTER.v6) === 'ESTABLISHED'
          ? true
          : undefined,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'does not establish a session with a wrong MD5 password',
    async () => {
      const client = sidecar!.client;
      const v6 = peers[1]!;
      const failuresBefore = await md5Failures();
      await client.deletePeer(v6.address);
      await client.addPeer({ ...v6, password: 'not-the-key' });
      // gobgpd's first attempt comes 5–10 s after AddPeer; the router's kernel counts the bad signature.
      await waitFor('a SYN with a wrong MD5 signature at the router', async () =>
        (await md5Failures()) > failuresBefore ? true : undefined,
      );
      expect((await client.listPeers(v6.address))[0]?.sessionState).not.toBe('ESTABLISHED');
      expect(await frrEstablished(NODE.v6)).toBe(false);
      await client.deletePeer(v6.address);
      await client.addPeer(v6);
      await waitFor('IPv6 session back with the right key', async () => frrEstablished(NODE.v6));
    },
    TIMEOUT_MS,
  );

  it(
    'announces IPv4 and IPv6 paths with standard and large communities; the router installs them',
    async () => {
      desired = buildDesiredPaths([announce('198.51.100.10'), announce('2001:db8:100::10')], {
        towardIBGP: false,
      });
      await converge(sidecar!.client);
      expect(current.size).toBe(2);

      const v4 = await waitFor(
        '198.51.100.10/32 at the router',
        async () => (await frrTable('ipv4')).routes?.['198.51.100.10/32'],
      );
      expect(v4[0]?.valid).toBe(true);
      expect(v4[0]?.nexthops?.[0]?.ip).toBe(NODE.v4);
      const v6 = await waitFor(
        '2001:db8:100::10/128 at the router',
        async () => (await frrTable('ipv6')).routes?.['2001:db8:100::10/128'],
      );
      expect(v6[0]?.nexthops?.[0]?.ip).toBe(NODE.v6);

      for (const [family, prefix] of [
        ['ipv4', '198.51.100.10/32'],
        ['ipv6', '2001:db8:100::10/128'],
      ] as const) {
        const path = (await frrRoute(family, prefix)).paths?.[0];
        expect(path?.community?.string, prefix).toBe('64512:100');
        expect(path?.largeCommunity?.string, prefix).toBe('64512:1:2');
      }
      expect(
        await waitFor('kernel route 198.51.100.10', async () => kernelRoute('ipv4', '198.51.100.10/32')),
      ).toMatch(new RegExp(`^198\\.51\\.100\\.10 .*via ${NODE.v4.replaceAll('.', '\\.')} .*proto bgp`));
      expect(
        await waitFor('kernel route 2001:db8:100::10', async () =>
          kernelRoute('ipv6', '2001:db8:100::10/128'),
        ),
      ).toMatch(new RegExp(`^2001:db8:100::10 .*via ${NODE.v6} .*proto bgp`));
    },
    TIMEOUT_MS,
  );

  it(
    'reads its own paths back from gobgpd with the same keys',
    async () => {
      const local = await sidecar!.client.listLocalPaths();
      expect(local.map(pathKey).sort()).toEqual([...current.keys()].sort());
      const listed = await sidecar!.client.listPaths('ipv6');
      expect(listed.map((p) => pathKey(p.spec))).toEqual([
        '2001:db8:100::10/128 nh=:: c=64512:100 lc=64512:1:2 lp=',
      ]);
    },
    TIMEOUT_MS,
  );

  it(
    'sends no LOCAL_PREF to an eBGP router even when a path carries one',
    async () => {
      desired = buildDesiredPaths(
        [
          announce('198.51.100.10'),
          announce('2001:db8:100::10'),
          announce('198.51.100.20', { localPref: 150 }),
        ],
        { towardIBGP: true },
      );
      await converge(sidecar!.client);
      const route = await waitFor('198.51.100.20/32 at the router', async () => {
        const r = await frrRoute('ipv4', '198.51.100.20/32');
        return r.paths?.length ? r : undefined;
      });
      expect(route.paths?.[0]?.locPrf).not.toBe(150);
    },
    TIMEOUT_MS,
  );

  it(
    'replaces a path in place when its communities change (AddPath only, no DeletePath)',
    async () => {
      calls.length = 0;
      desired = buildDesiredPaths(
        [
          announce('198.51.100.10', { communities: [64512 * 65536 + 200] }),
          announce('2001:db8:100::10'),
          announce('198.51.100.20', { localPref: 150 }),
        ],
        { towardIBGP: true },
      );
      await converge(sidecar!.client);
      expect(calls).toEqual(['add 198.51.100.10/32 nh=0.0.0.0 c=64512:200 lc=64512:1:2 lp=']);
      await waitFor('community 64512:200 at the router', async () =>
        (await frrRoute('ipv4', '198.51.100.10/32')).paths?.[0]?.community?.string === '64512:200'
          ? true
          : undefined,
      );
      expect((await sidecar!.client.listLocalPaths()).map(pathKey).sort()).toEqual(
        [...current.keys()].sort(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    'withdraws exactly the deleted paths, by uuid',
    async () => {
      calls.length = 0;
      desired = buildDesiredPaths([announce('198.51.100.10', { communities: [64512 * 65536 + 200] })], {
        towardIBGP: true,
      });
      await converge(sidecar!.client);
      expect(calls).toEqual([
        'delete 198.51.100.20/32 nh=0.0.0.0 c=64512:100 lc=64512:1:2 lp=150',
        'delete 2001:db8:100::10/128 nh=:: c=64512:100 lc=64512:1:2 lp=',
      ]);
      await waitFor('withdrawal of 2001:db8:100::10/128', async () =>
        (await frrTable('ipv6')).routes?.['2001:db8:100::10/128'] === undefined ? true : undefined,
      );
      await waitFor('kernel route 2001:db8:100::10 gone', async () =>
        (await kernelRoute('ipv6', '2001:db8:100::10/128')) === '' ? true : undefined,
      );
      const table = await frrTable('ipv4');
      expect(Object.keys(table.routes ?? {})).toEqual(['198.51.100.10/32']);
      expect(await kernelRoute('ipv4', '198.51.100.10/32')).toContain('proto bgp');
    },
    TIMEOUT_MS,
  );

  it(
    'detects a gobgpd restart and re-creates peers and paths',
    async () => {
      desired = buildDesiredPaths([announce('198.51.100.10'), announce('2001:db8:100::10')], {
        towardIBGP: false,
      });
      await converge(sidecar!.client);
      const pid = sidecar!.pid;
      expect(pid).toBeTypeOf('number');
      const down = sidecar!.untilDown(15_000);
      process.kill(pid!, 'SIGKILL');
      expect(await down).toBe(true); // what a speaker waits for before its BFD responder goes
      await waitFor(
        'the router to drop the session',
        async () => ((await frrEstablished(NODE.v4)) ? undefined : true),
        15_000,
      );
      // graceful restart: the IPv4 route stays, stale, in the router's table and its kernel while gobgpd is
      // gone (no NOTIFICATION: killed); the IPv6 session has none, so its route goes
      const stale = (await frrRoute('ipv4', '198.51.100.10/32')).paths?.[0];
      expect(stale?.stale).toBe(true);
      expect(await kernelRoute('ipv4', '198.51.100.10/32')).toContain('proto bgp');
      await waitFor('the IPv6 route (no graceful restart) withdrawn', async () =>
        (await frrTable('ipv6')).routes?.['2001:db8:100::10/128'] === undefined ? true : undefined,
      );
      await waitFor('generation 2', async () => (sidecar!.generation === 2 ? true : undefined));
      expect(readies.map((r) => [r.generation, r.fresh])).toEqual([
        [1, true],
        [2, true],
      ]);
      expect(sidecar!.pid).not.toBe(pid);
      await waitFor(
        'both prefixes back at the router',
        async () =>
          (await frrTable('ipv4')).routes?.['198.51.100.10/32'] &&
          (await frrTable('ipv6')).routes?.['2001:db8:100::10/128'],
      );
      expect(
        await waitFor('kernel route back', async () => kernelRoute('ipv4', '198.51.100.10/32')),
      ).toContain('proto bgp');
      expect((await frrRoute('ipv6', '2001:db8:100::10/128')).paths?.[0]?.largeCommunity?.string).toBe(
        '64512:1:2',
      );
      // the restarted gobgpd announced it again and sent End-of-RIB: no longer stale, never left the kernel
      await waitFor('198.51.100.10/32 fresh again', async () =>
        (await frrRoute('ipv4', '198.51.100.10/32')).paths?.[0]?.stale ? undefined : true,
      );
      expect(await kernelRoute('ipv4', '198.51.100.10/32')).toContain('proto bgp');
    },
    TIMEOUT_MS,
  );

  it(
    'lets a restarted speaker adopt a gobgpd that kept running: re-add in place, orphans deleted by uuid',
    async () => {
      const adopted: GobgpReady[] = [];
      desired = buildDesiredPaths([announce('198.51.100.10')], { towardIBGP: false }); // the IPv6 service went away
      const second = new GobgpSidecar({
        apiTarget: socket,
        spawn: false,
        onReady: async (ready) => {
          adopted.push(ready);
          calls.length = 0;
          await adopt(ready.client);
        },
      });
      try {
        await second.start(10_000);
        expect(adopted.map((r) => [r.generation, r.fresh])).toEqual([[1, false]]);
        expect(calls).toEqual([
          'add 198.51.100.10/32 nh=0.0.0.0 c=64512:100 lc=64512:1:2 lp=',
          'orphan 2001:db8:100::10/128 nh=:: c=64512:100 lc=64512:1:2 lp=',
        ]);
        await waitFor('withdrawal of the orphan 2001:db8:100::10/128', async () =>
          (await frrTable('ipv6')).routes?.['2001:db8:100::10/128'] === undefined ? true : undefined,
        );
        expect((await frrTable('ipv4')).routes?.['198.51.100.10/32']?.[0]?.valid).toBe(true);
        // The adopted uuid is live: withdrawing by it works.
        calls.length = 0;
        desired = [];
        await converge(second.client);
        expect(calls).toEqual(['delete 198.51.100.10/32 nh=0.0.0.0 c=64512:100 lc=64512:1:2 lp=']);
        await waitFor('withdrawal of 198.51.100.10/32', async () =>
          (await frrTable('ipv4')).routes?.['198.51.100.10/32'] === undefined ? true : undefined,
        );
        expect(await sidecar!.client.listLocalPaths()).toEqual([]);
      } finally {
        await second.stop();
      }
      expect(sidecar!.pid).toBeTypeOf('number'); // stopping the second sidecar left gobgpd alone
    },
    TIMEOUT_MS,
  );

  it(
    'stops gobgpd and removes its socket on stop()',
    async () => {
      const pid = sidecar!.pid!;
      await sidecar!.stop();
      sidecar = undefined;
      expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(join(frrDir, 'gobgp.sock'))).toBe(false);
      await waitFor(
        'the router to drop the sessions',
        async () => ((await frrEstablished(NODE.v4)) ? undefined : true),
        15_000,
      );
      expect(logLines.length).toBeGreaterThan(0);
      expect(logLines.join('\n')).not.toContain(MD5_KEY);
    },
    TIMEOUT_MS,
  );
});
