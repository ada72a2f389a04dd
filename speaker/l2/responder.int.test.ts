// The responder on a real wire: two network namespaces joined by a veth pair. In ironlb-t-l2-a the responder
// (speaker/l2/responder-cli.ts, AF_PACKET addon) announces 192.0.2.77 and 2001:db8::77, which no interface
// holds; in ironlb-t-l2-b the Linux kernel is the client: it must resolve the addresses, accept our gratuitous
// announcements over a stale entry, and answer our probes for its own addresses. Needs root, ip, tcpdump.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARP_REPLY, ARP_REQUEST, decodeArp, gratuitousArp } from '../../src/packet/arp.ts';
import { decodeEthernet } from '../../src/packet/ethernet.ts';
import { bytesToHex, hexToBytes } from '../../src/packet/hex.ts';
import { unsolicitedNeighborAdvertisement } from '../../src/packet/ndp.ts';

const A = 'ironlb-t-l2-a';
const B = 'ironlb-t-l2-b';
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const STALE_MAC = '02:00:00:00:00:99';
const VIP4 = '192.0.2.77';
const VIP6 = '2001:db8::77';
const root = join(import.meta.dirname, '..', '..');
const node = join(root, '.tools', 'bin', 'node');

const sh = (args: string[]): string =>
  execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', timeout: 10_000 });
const inB = (cmd: string): string => sh(['ip', 'netns', 'exec', B, 'bash', '-c', cmd]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function deleteNamespaces(): void {
  for (const ns of [A, B]) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not there
    }
  }
}

/** neighbor returns the lladdr and state of B's neighbor entry for ip, or undefined. */
function neighbor(ip: string): { mac?: string; state: string } | undefined {
  const line = sh(['ip', '-n', B, 'neigh', 'show', ip, 'dev', 'vb']).trim();
  if (!line) return undefined;
  const mac = /lladdr ([0-9a-f:]{17})/.exec(line)?.[1];
  const state = line.split(/\s+/).at(-1) as string;
  return mac ? { mac, state } : { state };
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** readPcap returns the frames of a classic little-endian pcap file. */
function readPcap(path: string): Uint8Array[] {
  const data = new Uint8Array(readFileSync(path));
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 24 || dv.getUint32(0, true) !== 0xa1b2c3d4)
    throw new Error(`"${path}" is not a pcap file`);
  const frames: Uint8Array[] = [];
  for (let off = 24; off + 16 <= data.length;) {
    const incl = dv.getUint32(off + 8, true);
    frames.push(data.slice(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return frames;
}

interface Responder {
  proc: ChildProcessWithoutNullStreams;
  events: Record<string, unknown>[];
  send(line: string): void;
}

function startResponder(args: string[]): Responder {
  const proc = spawn('ip', ['netns', 'exec', A, node, join(root, 'speaker/l2/responder-cli.ts'), ...args], {
    cwd: root,
  });
  const events: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr.on('data', (d: Buffer) => process.stderr.write(`[responder] ${d.toString()}`));
  return { proc, events, send: (line) => proc.stdin.write(`${line}\n`) };
}

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('L2 responder between two network namespaces', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ironlb-t-l2-'));
  let responder: Responder | undefined;
  let tcpdump: ChildProcessWithoutNullStreams | undefined;

  beforeAll(async () => {
    sh([join(root, 'speaker/native/build.sh')]);
    deleteNamespaces(); // leftovers of a crashed run
    sh(['ip', 'netns', 'add', A]);
    sh(['ip', 'netns', 'add', B]);
    sh([
      'ip',
      '-n',
      A,
      'link',
      'add',
      'va',
      'address',
      MAC_A,
      'type',
      'veth',
      'peer',
      'name',
      'vb',
      'netns',
      B,
      'address',
      MAC_B,
    ]);
    sh(['ip', '-n', A, 'link', 'set', 'va', 'up']);
    sh(['ip', '-n', B, 'link', 'set', 'vb', 'up']);
    sh(['ip', '-n', B, 'addr', 'add', '192.0.2.10/24', 'dev', 'vb']);
    sh(['ip', '-n', B, 'addr', 'add', '2001:db8::10/64', 'dev', 'vb', 'nodad']);
    // The takeover story starts with B caching the addresses at another (dead) node's MAC.
    sh(['ip', '-n', B, 'neigh', 'replace', VIP4, 'lladdr', STALE_MAC, 'dev', 'vb', 'nud', 'stale']);
    sh(['ip', '-n', B, '-6', 'neigh', 'replace', VIP6, 'lladdr', STALE_MAC, 'dev', 'vb', 'nud', 'stale']);
    await sleep(1200); // past the ARP locktime (1 s) of the entries just written
    tcpdump = spawn('ip', [
      'netns',
      'exec',
      B,
      'tcpdump',
      '-Z',
      'root',
      '-i',
      'vb',
      '-U',
      '--immediate-mode',
      '-s',
      '256',
      '-w',
      join(tmp, 'cap.pcap'),
      'arp or icmp6',
    ]);
    let tdErr = '';
    tcpdump.stderr.on('data', (d: Buffer) => (tdErr += d.toString()));
    await waitFor('tcpdump to listen', () => tdErr.includes('listening on'));
    responder = startResponder(['--interface', 'va', '--ip', VIP4, '--ip', VIP6]);
    await waitFor(
      'the responder to be ready',
      () => responder?.events.find((e) => e.event === 'ready'),
      10_000,
    );
  }, 60_000);

  afterAll(async () => {
    try {
      if (responder && responder.proc.exitCode === null) {
        responder.send('quit');
        const proc = responder.proc;
        await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(2000)]);
        if (proc.exitCode === null && proc.pid) process.kill(proc.pid, 'SIGKILL');
      }
      if (tcpdump?.pid && tcpdump.exitCode === null) process.kill(tcpdump.pid, 'SIGTERM');
    } finally {
      deleteNamespaces();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('reports the interface MAC it answers with', () => {
    expect(responder?.events.find((e) => e.event === 'ready')).toMatchObject({
      event: 'ready',
      interface: 'va',
      mac: MAC_A,
      announced: [VIP4, VIP6],
    });
  });

  it('moves B’s stale neighbor entries to our MAC with gratuitous ARP and unsolicited NA (takeover)', async () => {
    await waitFor('B to learn the IPv4 takeover', () => neighbor(VIP4)?.mac === MAC_A);
    await waitFor('B to learn the IPv6 takeover', () => neighbor(VIP6)?.mac === MAC_A);
  });

  it('lets the kernel in B resolve both addresses by ARP and NDP', async () => {
    sh(['ip', '-n', B, 'neigh', 'flush', 'dev', 'vb']);
    expect(neighbor(VIP4)?.mac).toBeUndefined();
    inB(`echo x >/dev/udp/${VIP4}/9 || true`);
    inB(`echo x >/dev/udp/${VIP6}/9 || true`);
    const v4 = await waitFor('B to resolve the IPv4 address', () =>
      neighbor(VIP4)?.mac ? neighbor(VIP4) : undefined,
    );
    const v6 = await waitFor('B to resolve the IPv6 address', () =>
      neighbor(VIP6)?.mac ? neighbor(VIP6) : undefined,
    );
    expect(v4).toEqual({ mac: MAC_A, state: 'REACHABLE' });
    expect(v6).toEqual({ mac: MAC_A, state: 'REACHABLE' });
    const seen = (e: Record<string, unknown>) => () =>
      responder?.events.some((x) => x.event === e.event && x.ip === e.ip) === true || undefined;
    await waitFor('the request counter', seen({ event: 'requestReceived', ip: VIP4 }));
    await waitFor('the IPv4 response counter', seen({ event: 'responseSent', ip: VIP4 }));
    await waitFor('the IPv6 response counter', seen({ event: 'responseSent', ip: VIP6 }));
  });

  it('never sees data traffic: the kernel filter passes only ARP and ICMPv6 NS/NA', async () => {
    // B has just sent UDP over IPv4 and IPv6 to both addresses, and the kernel sends MLD and router solicitations.
    await sleep(300);
    const leaked = responder?.events.filter(
      (e) => e.event === 'ignored' && (e.reason === 'notArp' || e.reason === 'notNdp'),
    );
    expect(leaked).toEqual([]);
  });

  it('leaves an address it does not announce unresolved', async () => {
    inB('echo x >/dev/udp/192.0.2.78/9 || true');
    await sleep(1500);
    expect(neighbor('192.0.2.78')?.mac).toBeUndefined();
  });

  it('detects that B owns 192.0.2.10 and 2001:db8::10 when probing them, and claims a free address', async () => {
    responder?.send('claim 192.0.2.10');
    responder?.send('claim 2001:db8::10');
    responder?.send('claim 192.0.2.99');
    const ev = () => responder?.events ?? [];
    await waitFor('the IPv4 claim to end', () =>
      ev().find((e) => e.event === 'claim' && e.ip === '192.0.2.10'),
    );
    await waitFor(
      'the IPv6 claim to end',
      () => ev().find((e) => e.event === 'claim' && e.ip === '2001:db8::10'),
      5000,
    );
    await waitFor('the free claim to end', () =>
      ev().find((e) => e.event === 'claim' && e.ip === '192.0.2.99'),
    );
    expect(ev()).toContainEqual({
      event: 'claim',
      ip: '192.0.2.10',
      result: 'conflict',
      mac: MAC_B,
      evidence: 'arpSender',
    });
    expect(ev()).toContainEqual({
      event: 'claim',
      ip: '2001:db8::10',
      result: 'conflict',
      mac: MAC_B,
      evidence: 'neighborAdvertisement',
    });
    expect(ev()).toContainEqual({ event: 'claim', ip: '192.0.2.99', result: 'claimed' });
    inB('echo x >/dev/udp/192.0.2.99/9 || true');
    await waitFor('B to resolve the claimed address', () => neighbor('192.0.2.99')?.mac === MAC_A);
  });

  it('answers on VLAN 100 only when told to, putting back the tag the veth stripped (PACKET_AUXDATA)', async () => {
    // No 8021q module here, so B's side is a script: it sends a tagged ARP request on vb through the addon and
    // prints the first tagged ARP frame from MAC_A it receives (as hex), or "timeout".
    const script = join(tmp, 'vlan-client.ts');
    writeFileSync(
      script,
      [
        `import { openPacketSocket } from ${JSON.stringify(join(root, 'speaker/native/index.ts'))};`,
        `import { arpRequest } from ${JSON.stringify(join(root, 'src/packet/arp.ts'))};`,
        `import { bytesToHex } from ${JSON.stringify(join(root, 'src/packet/hex.ts'))};`,
        `const s = openPacketSocket('vb', { etherTypes: [0x0806] });`,
        `const done = (out: string) => { console.log(out); s.close(); };`,
        `const timer = setTimeout(() => done('timeout'), 3000);`,
        `s.receive((f) => { const h = bytesToHex(f); if (h.startsWith('${MAC_B.replace(/:/g, '')}${MAC_A.replace(/:/g, '')}8100')) { clearTimeout(timer); done(h); } });`,
        `s.send(arpRequest({ mac: '${MAC_B}', ip: '198.51.100.10' }, '198.51.100.77', { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: 100 }] }));`,
      ].join('\n'),
    );
    const tagged = startResponder(['--interface', 'va', '--vlan', '100', '--ip', '198.51.100.77']);
    try {
      await waitFor(
        'the VLAN responder to be ready',
        () => tagged.events.find((e) => e.event === 'ready'),
        10_000,
      );
      const out = sh(['ip', 'netns', 'exec', B, node, script]).trim();
      const eth = decodeEthernet(hexToBytes(out === 'timeout' ? '' : out));
      expect(eth).toMatchObject({
        ok: true,
        value: { src: MAC_A, dst: MAC_B, vlans: [{ tpid: 0x8100, vid: 100 }] },
      });
      const arp = eth.ok ? decodeArp(eth.value.payload) : undefined;
      expect(arp).toMatchObject({
        ok: true,
        value: { op: 2, senderMac: MAC_A, senderIp: '198.51.100.77', targetIp: '198.51.100.10' },
      });
      // the untagged responder saw the same request and left it alone
      await waitFor(
        'the untagged responder to ignore the tagged frame',
        () =>
          responder?.events.some((e) => e.event === 'ignored' && e.reason === 'otherVlan') === true ||
          undefined,
      );
    } finally {
      tagged.send('quit');
      await Promise.race([new Promise((r) => tagged.proc.once('exit', r)), sleep(2000)]);
      if (tagged.proc.exitCode === null && tagged.proc.pid) process.kill(tagged.proc.pid, 'SIGKILL');
    }
  });

  it('put the exact frames we built on the wire (tcpdump in B)', async () => {
    const dadNs = (f: string) =>
      f.startsWith('3333ff00001002000000000a86dd') && f.slice(44, 76) === '0'.repeat(32);
    const frames = await waitFor('tcpdump to write the DAD probe', () => {
      const all = readPcap(join(tmp, 'cap.pcap')).map(bytesToHex);
      return all.some(dadNs) ? all : undefined;
    });
    const owner4 = { mac: MAC_A, ip: VIP4 };
    expect(frames).toContain(bytesToHex(gratuitousArp(owner4, ARP_REQUEST)));
    expect(frames).toContain(bytesToHex(gratuitousArp(owner4, ARP_REPLY)));
    expect(frames).toContain(bytesToHex(unsolicitedNeighborAdvertisement({ mac: MAC_A, ip: VIP6 })));
    // RFC 5227 probe for B's address: sender IP 0.0.0.0, zero target MAC
    const probe = 'ffffffffffff02000000000a0806000108000604000102000000000a00000000000000000000c000020a';
    expect(frames.filter((f) => f.startsWith('ffffffffffff02000000000a0806'))).toContainEqual(
      expect.stringMatching(new RegExp(`^${probe}`)),
    );
    // The kernel in B defended its address: an ARP reply to our probe, an NA to all-nodes for the DAD probe.
    expect(
      frames.some((f) => f.startsWith('02000000000a02000000000b0806000108000604000202000000000bc000020a')),
    ).toBe(true);
    expect(frames.some((f) => f.startsWith('33330000000102000000000b86dd'))).toBe(true);
  });
});
