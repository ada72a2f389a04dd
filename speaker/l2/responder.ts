// The L2 responder: one per interface. A thin loop around the pure core: read a frame, ask classifyFrame,
// send the reply, count. It also sends gratuitous announcements on a schedule and can claim an address with
// RFC 5227 / RFC 4862 probing first. Metrics are plain callbacks; the speaker wires them to prom-client.
import { realClock, type Clock, type Timer } from '../../edge/clock.ts';
import { canonicalIP, macFromBytes } from '../../src/packet/address.ts';
import { ARP_REPLY, ARP_REQUEST, arpProbe, gratuitousArp } from '../../src/packet/arp.ts';
import {
  classifyFrame,
  type ConflictEvidence,
  type FrameDecision,
  type IgnoreReason,
} from '../../src/packet/classify.ts';
import type { VlanTag } from '../../src/packet/ethernet.ts';
import { dadProbe, unsolicitedNeighborAdvertisement } from '../../src/packet/ndp.ts';
import {
  FAST_TIMINGS,
  RFC4862_TIMINGS,
  initialProbeState,
  stepProbe,
  type DefendPolicy,
  type ProbeAction,
  type ProbeState,
  type ProbeTimings,
} from '../../src/l2/probe.ts';
import { METALLB_SCHEDULE, announcementStep, type AnnounceSchedule } from '../../src/l2/schedule.ts';

/** FrameSocket is what the responder needs from a packet socket (PacketSocket satisfies it; tests pass fakes). */
export interface FrameSocket {
  send(frame: Uint8Array): number;
  receive(onFrame: (frame: Uint8Array, pkttype: number) => void): void;
  close(): void;
}

/** ResponderCounters are the metric hooks (MetalLB names in brackets); every one is optional. */
export interface ResponderCounters {
  /** requestReceived: an ARP request or NS for an announced address [metallb_layer2_requests_received]. */
  requestReceived?(ip: string): void;
  /** responseSent: a reply went out [metallb_layer2_responses_sent]. */
  responseSent?(ip: string): void;
  /** gratuitousSent: one gratuitous ARP or unsolicited NA frame went out [metallb_layer2_gratuitous_sent]. */
  gratuitousSent?(ip: string): void;
  /** ignored: a frame was dropped, with the classifier's reason. */
  ignored?(reason: IgnoreReason): void;
  /** sendFailed: the socket refused a frame (the error says why). */
  sendFailed?(ip: string, error: unknown): void;
}

/** ConflictReport says another host (mac) uses ip; gaveUp is true when the responder stopped using it. */
export interface ConflictReport {
  ip: string;
  mac: string;
  evidence: ConflictEvidence;
  gaveUp: boolean;
}

/** ResponderOptions configures one interface's responder. */
export interface ResponderOptions {
  interfaceName: string;
  /** mac is the interface's MAC (canonical); the speaker reads it with interfaceInfo. */
  mac: string;
  socket: FrameSocket;
  /** vlan: answer only frames tagged with this VLAN id (and tag replies); undefined = untagged frames only. */
  vlan?: number;
  counters?: ResponderCounters;
  onConflict?: (report: ConflictReport) => void;
  /** schedule of gratuitous rounds after announce(); default METALLB_SCHEDULE. */
  schedule?: Readonly<AnnounceSchedule>;
  /** defend policy for announced addresses; default "always": ownership is the election's call, not an ARP fight. */
  defend?: DefendPolicy;
  overrideOnSolicited?: boolean;
  /** clock: probe and announcement timing (default: the wall clock). */
  clock?: Clock;
  random?: () => number;
}

interface Entry {
  family: 'ipv4' | 'ipv6';
  probe: ProbeState;
  timings: Readonly<ProbeTimings>;
  probeTimer?: Timer;
  gratuitous?: { startedAt: number; done: number; timer?: Timer };
  claim?: { resolve: (r: ClaimResult) => void };
}

/** ClaimResult is how claim() ended: the address is ours and announced, another host has it, or it was withdrawn. */
export type ClaimResult =
  | { result: 'claimed' }
  | { result: 'conflict'; mac: string; evidence: ConflictEvidence }
  | { result: 'withdrawn' };

/**
 * L2Responder answers ARP requests and Neighbor Solicitations for the addresses it announces on one interface,
 * sends gratuitous ARP / unsolicited NA on a schedule after each announce(), and reports conflicts. All
 * decisions come from src/ (classifyFrame, stepProbe, announcementStep); this class only does I/O and timers.
 */
export class L2Responder {
  readonly interfaceName: string;
  readonly mac: string;
  #socket: FrameSocket;
  #opts: ResponderOptions;
  #timers: Clock;
  #entries = new Map<string, Entry>();
  #announced = new Set<string>();
  #probing = new Set<string>();
  #closed = false;
  #quiet = false;
  #lastConflict = new Map<string, ConflictEvidence>();

  constructor(options: ResponderOptions) {
    this.interfaceName = options.interfaceName;
    this.mac = options.mac;
    this.#socket = options.socket;
    this.#opts = options;
    this.#timers = options.clock ?? realClock;
    this.#socket.receive((frame) => this.#onFrame(frame));
  }

  /** announced is the set of addresses answered for right now (canonical text). */
  get announced(): ReadonlySet<string> {
    return this.#announced;
  }

  /** probing is the set of addresses being claimed (probes out, not answered yet). */
  get probing(): ReadonlySet<string> {
    return this.#probing;
  }

  /**
   * announce starts answering for ip at once and runs the gratuitous schedule; announcing an address already
   * announced restarts the schedule (a takeover). It throws TypeError for text that is not an IP address.
   */
  announce(ip: string): void {
    const { ip: key, family } = this.#canonical(ip);
    const entry = this.#entries.get(key) ?? {
      family,
      probe: initialProbeState,
      timings: this.#timingsFor(family),
    };
    this.#stopProbe(entry);
    this.#probing.delete(key);
    this.#finishClaim(entry, { result: 'claimed' });
    entry.probe = { phase: 'announced', probesSent: entry.probe.probesSent };
    this.#entries.set(key, entry);
    this.#announced.add(key);
    this.#startGratuitous(key, entry);
  }

  /**
   * claim probes ip first (ARP probes or DAD NS, timings per family unless given; FAST_TIMINGS for IPv4 and
   * RFC 4862 DAD for IPv6 by default) and announces it only if nobody answers. The promise never rejects.
   */
  claim(ip: string, options: { timings?: Readonly<ProbeTimings> } = {}): Promise<ClaimResult> {
    const { ip: key, family } = this.#canonical(ip);
    const prior = this.#entries.get(key);
    if (prior) this.#finishClaim(prior, { result: 'withdrawn' });
    this.withdraw(key);
    const entry: Entry = {
      family,
      probe: initialProbeState,
      timings: options.timings ?? this.#timingsFor(family),
    };
    this.#entries.set(key, entry);
    this.#probing.add(key);
    const done = new Promise<ClaimResult>((resolve) => {
      entry.claim = { resolve };
    });
    this.#applyProbe(
      key,
      entry,
      stepProbe(
        entry.probe,
        { type: 'start', now: this.#timers.now(), random: this.#random() },
        this.#probeOptions(entry),
      ),
    );
    return done;
  }

  /** withdraw stops answering for ip and cancels its timers; a pending claim resolves as "withdrawn". */
  withdraw(ip: string): void {
    const key = canonicalIP(ip)?.ip ?? ip;
    const entry = this.#entries.get(key);
    this.#announced.delete(key);
    this.#probing.delete(key);
    this.#lastConflict.delete(key);
    if (!entry) return;
    this.#stopProbe(entry);
    this.#stopGratuitous(entry);
    this.#finishClaim(entry, { result: 'withdrawn' });
    this.#entries.delete(key);
  }

  /**
   * quiesce is the leaving half of a graceful handoff: the other speakers already announce these addresses, so
   * this one sends no more gratuitous rounds and never defends (either would turn clients back to a node about
   * to go), drops addresses still being probed, and answers only requests sent to its own MAC — clients that
   * still hold it keep reaching this node until they learn the new owner; broadcast and multicast requests are
   * the new owner's to answer. Irreversible: the responder is closed next.
   */
  quiesce(): void {
    this.#quiet = true;
    for (const ip of [...this.#probing]) this.withdraw(ip);
    for (const entry of this.#entries.values()) {
      this.#stopGratuitous(entry);
      this.#stopProbe(entry);
    }
  }

  /** close withdraws everything and closes the socket; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    for (const ip of [...this.#entries.keys()]) this.withdraw(ip);
    this.#closed = true;
    this.#socket.close();
  }

  #onFrame(frame: Uint8Array): void {
    if (this.#closed) return;
    const d: FrameDecision = classifyFrame(frame, {
      mac: this.mac,
      announced: this.#announced,
      probing: this.#probing,
      vlan: this.#opts.vlan,
      overrideOnSolicited: this.#opts.overrideOnSolicited,
    });
    const c = this.#opts.counters;
    if (
      this.#quiet &&
      (d.action === 'conflict' || (d.action === 'reply' && macFromBytes(frame) !== this.mac))
    )
      return;
    switch (d.action) {
      case 'ignore':
        c?.ignored?.(d.reason);
        return;
      case 'reply':
        c?.requestReceived?.(d.ip);
        if (this.#send(d.ip, d.frame)) c?.responseSent?.(d.ip);
        return;
      case 'conflict': {
        const entry = this.#entries.get(d.ip);
        if (!entry) return;
        this.#lastConflict.set(d.ip, d.evidence);
        this.#applyProbe(
          d.ip,
          entry,
          stepProbe(
            entry.probe,
            { type: 'conflict', now: this.#timers.now(), mac: d.mac },
            this.#probeOptions(entry),
          ),
        );
        return;
      }
    }
  }

  #applyProbe(ip: string, entry: Entry, step: { state: ProbeState; actions: ProbeAction[] }): void {
    entry.probe = step.state;
    for (const a of step.actions) {
      switch (a.type) {
        case 'sendProbe':
          this.#send(
            ip,
            entry.family === 'ipv4'
              ? arpProbe(this.mac, ip, this.#vlanOpts())
              : dadProbe(this.mac, ip, this.#vlanOpts()),
          );
          break;
        case 'claimed':
          this.#probing.delete(ip);
          this.#announced.add(ip);
          this.#startGratuitous(ip, entry);
          this.#finishClaim(entry, { result: 'claimed' });
          break;
        case 'defend':
          this.#sendRound(ip, entry.family);
          break;
        case 'conflict': {
          const evidence = this.#lastConflict.get(ip) ?? 'arpSender';
          this.#opts.onConflict?.({ ip, mac: a.mac, evidence, gaveUp: a.gaveUp });
          if (a.gaveUp) {
            this.#finishClaim(entry, { result: 'conflict', mac: a.mac, evidence });
            this.withdraw(ip);
          }
          break;
        }
      }
    }
    this.#scheduleProbe(ip, entry);
  }

  #scheduleProbe(ip: string, entry: Entry): void {
    this.#stopProbe(entry);
    const at = entry.probe.nextAt;
    if (at === undefined || this.#entries.get(ip) !== entry) return;
    entry.probeTimer = this.#timers.setTimeout(
      () => {
        entry.probeTimer = undefined;
        if (this.#entries.get(ip) !== entry) return;
        this.#applyProbe(
          ip,
          entry,
          stepProbe(
            entry.probe,
            { type: 'timer', now: Math.max(this.#timers.now(), at), random: this.#random() },
            this.#probeOptions(entry),
          ),
        );
      },
      Math.max(0, at - this.#timers.now()),
    );
  }

  #startGratuitous(ip: string, entry: Entry): void {
    this.#stopGratuitous(entry);
    entry.gratuitous = { startedAt: this.#timers.now(), done: 0 };
    this.#tickGratuitous(ip, entry);
  }

  #tickGratuitous(ip: string, entry: Entry): void {
    const g = entry.gratuitous;
    if (!g || this.#entries.get(ip) !== entry) return;
    const elapsed = this.#timers.now() - g.startedAt;
    const step = announcementStep(elapsed, g.done, this.#opts.schedule ?? METALLB_SCHEDULE);
    g.done = step.done;
    if (step.send) this.#sendRound(ip, entry.family);
    if (step.nextAt === undefined) {
      entry.gratuitous = undefined;
      return;
    }
    g.timer = this.#timers.setTimeout(
      () => this.#tickGratuitous(ip, entry),
      Math.max(0, step.nextAt - elapsed),
    );
  }

  #sendRound(ip: string, family: 'ipv4' | 'ipv6'): void {
    if (this.#quiet) return;
    const owner = { mac: this.mac, ip };
    const frames =
      family === 'ipv4'
        ? [
            gratuitousArp(owner, ARP_REQUEST, this.#vlanOpts()),
            gratuitousArp(owner, ARP_REPLY, this.#vlanOpts()),
          ]
        : [unsolicitedNeighborAdvertisement(owner, this.#vlanOpts())];
    for (const f of frames) if (this.#send(ip, f)) this.#opts.counters?.gratuitousSent?.(ip);
  }

  #send(ip: string, frame: Uint8Array): boolean {
    if (this.#closed) return false;
    try {
      this.#socket.send(frame);
      return true;
    } catch (err) {
      this.#opts.counters?.sendFailed?.(ip, err);
      return false;
    }
  }

  #stopProbe(entry: Entry): void {
    entry.probeTimer?.cancel();
    entry.probeTimer = undefined;
  }

  #stopGratuitous(entry: Entry): void {
    entry.gratuitous?.timer?.cancel();
    entry.gratuitous = undefined;
  }

  #finishClaim(entry: Entry, result: ClaimResult): void {
    const c = entry.claim;
    entry.claim = undefined;
    c?.resolve(result);
  }

  #canonical(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } {
    const c = canonicalIP(ip);
    if (!c)
      throw new TypeError(`Cannot announce "${ip}" on interface "${this.interfaceName}": not an IP address`);
    return c;
  }

  #timingsFor(family: 'ipv4' | 'ipv6'): Readonly<ProbeTimings> {
    return family === 'ipv4' ? FAST_TIMINGS : RFC4862_TIMINGS;
  }

  #probeOptions(entry: Entry) {
    return { timings: entry.timings, defend: this.#opts.defend ?? ('always' as const) };
  }

  #vlanOpts(): { vlans?: VlanTag[] } {
    const v = this.#opts.vlan;
    return v === undefined ? {} : { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: v }] };
  }

  #random(): number {
    return (this.#opts.random ?? Math.random)();
  }
}
