// Unit tests of the responder loop with a recording socket and a manual clock (no root, no network).
import { describe, expect, it } from 'vitest';
import { ARP_REPLY, ARP_REQUEST, arpRequest, decodeArp, gratuitousArp } from '../../src/packet/arp.ts';
import { decodeEthernet } from '../../src/packet/ethernet.ts';
import { neighborSolicitation } from '../../src/packet/ndp.ts';
import { FAST_TIMINGS } from '../../src/l2/probe.ts';
import { ManualClock } from '../../edge/clock.ts';
import { L2Responder, type ConflictReport, type FrameSocket } from './responder.ts';

class RecordingSocket implements FrameSocket {
  sent: { at: number; frame: Uint8Array }[] = [];
  closed = false;
  onFrame: ((f: Uint8Array, pkttype: number) => void) | undefined;
  clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  send(frame: Uint8Array): number {
    this.sent.push({ at: this.clock.now(), frame });
    return frame.length;
  }
  receive(onFrame: (f: Uint8Array, pkttype: number) => void): void {
    this.onFrame = onFrame;
  }
  close(): void {
    this.closed = true;
  }
  deliver(frame: Uint8Array): void {
    this.onFrame?.(frame, 0);
  }
}

const US = '02:00:00:00:00:0a';
const CLIENT = { mac: '02:00:00:00:00:0b', ip: '192.0.2.10' };
const RIVAL = '02:00:00:00:00:99';

function setup() {
  const clock = new ManualClock();
  const socket = new RecordingSocket(clock);
  const counts: Record<string, number> = {};
  const bump = (k: string) => () => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const conflicts: ConflictReport[] = [];
  const r = new L2Responder({
    interfaceName: 'veth-test',
    mac: US,
    socket,
    clock,
    random: () => 0.5,
    counters: {
      requestReceived: bump('requests'),
      responseSent: bump('responses'),
      gratuitousSent: bump('gratuitous'),
      ignored: (reason) => bump(`ignored:${reason}`)(),
    },
    onConflict: (c) => conflicts.push(c),
  });
  return { clock, socket, counts, conflicts, r };
}

const arpOf = (f: Uint8Array) => {
  const eth = decodeEthernet(f);
  const arp = eth.ok ? decodeArp(eth.value.payload) : undefined;
  return arp?.ok ? arp.value : undefined;
};

describe('L2Responder', () => {
  it('announces at once with a gratuitous request and reply, then every 1.1 s for 5 s', () => {
    const { clock, socket, counts, r } = setup();
    r.announce('192.0.2.77');
    expect(socket.sent.map((s) => s.frame)).toEqual([
      gratuitousArp({ mac: US, ip: '192.0.2.77' }, ARP_REQUEST),
      gratuitousArp({ mac: US, ip: '192.0.2.77' }, ARP_REPLY),
    ]);
    clock.advance(10_000);
    expect(socket.sent.map((s) => s.at)).toEqual([0, 0, 1100, 1100, 2200, 2200, 3300, 3300, 4400, 4400]);
    expect(counts['gratuitous']).toBe(10);
    expect(clock.pending).toBe(0);
  });
  it('announces IPv6 with one unsolicited NA per round, and answers an NS', () => {
    const { socket, counts, r } = setup();
    r.announce('2001:DB8::77');
    expect(r.announced.has('2001:db8::77')).toBe(true);
    expect(socket.sent.length).toBe(1);
    socket.deliver(neighborSolicitation({ mac: CLIENT.mac, ip: '2001:db8::10' }, '2001:db8::77'));
    expect(socket.sent.length).toBe(2);
    expect(counts).toMatchObject({ requests: 1, responses: 1 });
  });
  it('answers ARP requests for announced addresses only, and counts the rest by reason', () => {
    const { socket, counts, r } = setup();
    r.announce('192.0.2.77');
    socket.sent = [];
    socket.deliver(arpRequest(CLIENT, '192.0.2.77'));
    socket.deliver(arpRequest(CLIENT, '192.0.2.78'));
    expect(socket.sent.map((s) => arpOf(s.frame))).toEqual([
      { op: 2, senderMac: US, senderIp: '192.0.2.77', targetMac: CLIENT.mac, targetIp: CLIENT.ip },
    ]);
    expect(counts).toMatchObject({ requests: 1, responses: 1, 'ignored:notForUs': 1 });
  });
  it('stops answering and stops the schedule on withdraw', () => {
    const { clock, socket, r } = setup();
    r.announce('192.0.2.77');
    r.withdraw('192.0.2.77');
    socket.sent = [];
    clock.advance(10_000);
    socket.deliver(arpRequest(CLIENT, '192.0.2.77'));
    expect(socket.sent).toEqual([]);
    expect(clock.pending).toBe(0);
  });
  it('claims an address after three unanswered probes, then announces it', async () => {
    const { clock, socket, r } = setup();
    const done = r.claim('192.0.2.88', { timings: FAST_TIMINGS });
    socket.deliver(arpRequest(CLIENT, '192.0.2.88')); // not answered while probing
    clock.advance(1000);
    await expect(done).resolves.toEqual({ result: 'claimed' });
    const kinds = socket.sent.map((s) => {
      const a = arpOf(s.frame);
      return a?.senderIp === '0.0.0.0' ? `probe@${s.at}` : `${a?.op === 1 ? 'garp-req' : 'garp-rep'}@${s.at}`;
    });
    expect(kinds.slice(0, 5)).toEqual(['probe@0', 'probe@75', 'probe@150', 'garp-req@300', 'garp-rep@300']);
    expect(r.announced.has('192.0.2.88')).toBe(true);
  });
  it('gives up a claim when another host answers a probe, and reports the conflict', async () => {
    const { clock, socket, conflicts, r } = setup();
    const done = r.claim('192.0.2.88', { timings: FAST_TIMINGS });
    clock.advance(80);
    socket.deliver(gratuitousArp({ mac: RIVAL, ip: '192.0.2.88' }, ARP_REPLY));
    await expect(done).resolves.toEqual({ result: 'conflict', mac: RIVAL, evidence: 'arpSender' });
    expect(conflicts).toEqual([{ ip: '192.0.2.88', mac: RIVAL, evidence: 'arpSender', gaveUp: true }]);
    expect(r.announced.size + r.probing.size).toBe(0);
    clock.advance(10_000);
    expect(socket.sent.every((s) => arpOf(s.frame)?.senderIp === '0.0.0.0')).toBe(true);
  });
  it('defends an announced address against a rival, at most once per 10 s, and keeps it', () => {
    const { clock, socket, conflicts, r } = setup();
    r.announce('192.0.2.77');
    clock.advance(6000);
    socket.sent = [];
    socket.deliver(gratuitousArp({ mac: RIVAL, ip: '192.0.2.77' }, ARP_REQUEST));
    socket.deliver(gratuitousArp({ mac: RIVAL, ip: '192.0.2.77' }, ARP_REQUEST));
    expect(socket.sent.length).toBe(2); // one defending round: request + reply
    expect(conflicts.map((c) => c.gaveUp)).toEqual([false, false]);
    expect(r.announced.has('192.0.2.77')).toBe(true);
  });
  it('after quiesce (graceful handoff) sends no rounds and never defends, and answers only unicast requests', () => {
    const { clock, socket, conflicts, r } = setup();
    r.announce('192.0.2.77');
    const claim = r.claim('192.0.2.88', { timings: FAST_TIMINGS });
    r.quiesce();
    socket.sent = [];
    clock.advance(10_000);
    expect(socket.sent).toEqual([]); // the rest of the gratuitous schedule is cancelled
    expect(r.probing.size).toBe(0);
    socket.deliver(gratuitousArp({ mac: RIVAL, ip: '192.0.2.77' }, ARP_REQUEST)); // the new owner
    expect(socket.sent).toEqual([]);
    expect(conflicts).toEqual([]);
    socket.deliver(arpRequest(CLIENT, '192.0.2.77')); // broadcast: the new owner answers it
    expect(socket.sent).toEqual([]);
    const unicast = arpRequest(CLIENT, '192.0.2.77');
    unicast.set([2, 0, 0, 0, 0, 0x0a], 0); // a client re-checking the MAC it holds (to US)
    socket.deliver(unicast);
    expect(socket.sent.map((s) => arpOf(s.frame)?.op)).toEqual([ARP_REPLY]);
    return expect(claim).resolves.toEqual({ result: 'withdrawn' });
  });
  it('counts a refused send without throwing out of the loop', () => {
    const { socket, r } = setup();
    const failures: unknown[] = [];
    socket.send = () => {
      throw Object.assign(new Error('no buffer space'), { code: 'ENOBUFS' });
    };
    const r2 = new L2Responder({
      interfaceName: 'x',
      mac: US,
      socket,
      counters: { sendFailed: (_ip, e) => failures.push(e) },
    });
    r2.announce('192.0.2.77');
    expect(failures.length).toBe(2);
    r2.close();
    r.close();
    expect(socket.closed).toBe(true);
  });
  it('rejects text that is not an address', () => {
    const { r } = setup();
    expect(() => r.announce('example.com')).toThrow(TypeError);
  });
});
