// The L2 announcer: turns "this node announces these addresses on these interfaces" into L2Responders (one
// packet socket per interface). A new address is probed first (RFC 5227 / RFC 4862 DAD) so an address some
// other host already uses is never announced; a takeover of an address another speaker announced until now is
// announced at once (gratuitous ARP / unsolicited NA), which is what makes failover fast.
import { realClock, type Clock, type Timer } from '../edge/clock.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { PacketSocket, interfaceInfo } from './native/index.ts';
import { L2Responder, type ResponderCounters } from './l2/responder.ts';
import { FAST_SCHEDULE } from '../src/l2/schedule.ts';
import { FAST_TIMINGS } from '../src/l2/probe.ts';
import type { ConflictEvidence } from '../src/packet/classify.ts';
import type { Logger } from '../edge/log.ts';

/** EXCLUDED_INTERFACES are never answered on: container and tunnel plumbing, as MetalLB excludes them. */
export const EXCLUDED_INTERFACES =
  /^(lo|docker|cni|flannel|cali|cilium|lxc|veth|kube-ipvs|kube-bridge|vxlan|tunl|weave|genev|nodelocaldns|virbr)/;

/** Conflict is another host answering for an address we were about to announce (or announce). */
export interface Conflict {
  ip: string;
  interfaceName: string;
  mac: string;
  evidence: ConflictEvidence;
}

/** L2AnnouncerOptions: logging, metric hooks, conflict reports, and how to find interfaces. */
export interface L2AnnouncerOptions {
  log: Logger;
  counters?: ResponderCounters;
  onConflict: (c: Conflict) => void;
  onClaimed?: (ip: string, interfaceName: string) => void;
  /** listInterfaces defaults to /sys/class/net of the current network namespace. */
  listInterfaces?: () => string[];
  /**
   * peerOwning names the speaker that answers with a MAC, if any: an answer from another IronLB speaker while
   * this one claims an address is a handover in progress (the views of the two speakers differ for a moment),
   * not a conflict, so the address is announced at once.
   */
  peerOwning?: (mac: string) => string | undefined;
  /** linkPollMs: how often link state is read to re-announce when a link comes back (default 500). */
  linkPollMs?: number;
  /** clock: link polls, the MAC cache and every responder's timing (default: the wall clock). */
  clock?: Clock;
}

/** Desired is what to announce: address → interfaces ([] = every eligible interface), plus which are new. */
export interface Desired {
  addresses: ReadonlyMap<string, { interfaces: readonly string[] }>;
  /** fresh addresses are probed before they are announced. */
  fresh: ReadonlySet<string>;
}

/** L2Announcer owns the responders of this node. */
export class L2Announcer {
  private readonly o: L2AnnouncerOptions;
  private readonly responders = new Map<string, L2Responder>();
  private readonly linkUp = new Map<string, boolean>();
  private readonly conflicted = new Map<string, string>();
  private pollTimer: Timer | undefined;
  private current = new Map<string, Set<string>>();

  private readonly clock: Clock;

  constructor(options: L2AnnouncerOptions) {
    this.clock = options.clock ?? realClock;
    this.o = options;
  }

  /** eligibleInterfaces lists the up Ethernet interfaces not excluded by name. */
  eligibleInterfaces(): string[] {
    const names = this.o.listInterfaces?.() ?? readdirSync('/sys/class/net');
    return names
      .filter((n) => !EXCLUDED_INTERFACES.test(n))
      .filter((n) => {
        try {
          const info = interfaceInfo(n);
          return info.ethernet && !info.noArp;
        } catch {
          return false;
        }
      })
      .sort();
  }

  private macCache: { at: number; macs: string[] } | undefined;

  /** localMacs lists the MACs of the interfaces this node may answer on (refreshed every 5 s). */
  localMacs(): string[] {
    const now = this.clock.now();
    if (this.macCache && now - this.macCache.at < 5000) return this.macCache.macs;
    const macs = [...new Set(this.eligibleInterfaces().map((n) => interfaceInfo(n).mac))].sort();
    this.macCache = { at: now, macs };
    return macs;
  }

  /** conflicts are the addresses found in use by another host, with that host's MAC. */
  get conflicts(): ReadonlyMap<string, string> {
    return this.conflicted;
  }

  /** announcedOn returns the interfaces answering for ip now. */
  announcedOn(ip: string): string[] {
    return [...this.responders.entries()]
      .filter(([, r]) => r.announced.has(ip) || r.probing.has(ip))
      .map(([n]) => n);
  }

  private responder(name: string): L2Responder | undefined {
    const existing = this.responders.get(name);
    if (existing) return existing;
    try {
      const info = interfaceInfo(name);
      const socket = new PacketSocket(name);
      const r = new L2Responder({
        interfaceName: name,
        mac: info.mac,
        socket,
        schedule: FAST_SCHEDULE,
        clock: this.clock,
        counters: this.o.counters,
        onConflict: (report) => {
          // reported once: a lost claim also resolves its promise in apply(), which then sees it conflicted
          if (!report.gaveUp || this.conflicted.has(report.ip) || this.o.peerOwning?.(report.mac)) return;
          this.conflicted.set(report.ip, report.mac);
          this.o.onConflict({
            ip: report.ip,
            interfaceName: name,
            mac: report.mac,
            evidence: report.evidence,
          });
        },
      });
      this.responders.set(name, r);
      this.linkUp.set(name, info.up);
      this.o.log.info({ interface: name, mac: info.mac }, 'answering ARP/NDP on interface');
      this.ensurePolling();
      return r;
    } catch (err) {
      this.o.log.warn({ interface: name, err: (err as Error).message }, 'cannot open packet socket');
      return undefined;
    }
  }

  /**
   * apply converges the responders on `desired`. Fresh addresses are claimed (probe, then announce); others are
   * announced at once. Addresses no longer desired are withdrawn. A conflicted address stays unannounced
   * until clearConflict.
   */
  apply(desired: Desired): void {
    const all = this.eligibleInterfaces();
    const next = new Map<string, Set<string>>();
    for (const [ip, { interfaces }] of desired.addresses) {
      const on = interfaces.length === 0 ? all : interfaces.filter((i) => all.includes(i));
      for (const iface of on) {
        const set = next.get(iface) ?? new Set<string>();
        set.add(ip);
        next.set(iface, set);
      }
    }
    for (const [iface, ips] of this.current) {
      const keep = next.get(iface);
      for (const ip of ips) if (!keep?.has(ip)) this.responders.get(iface)?.withdraw(ip);
    }
    for (const [iface, ips] of next) {
      const had = this.current.get(iface);
      for (const ip of ips) {
        if (had?.has(ip)) continue;
        // a conflicted address is tried again only when it comes back fresh (probed again)
        if (this.conflicted.has(ip)) {
          if (!desired.fresh.has(ip)) continue;
          this.conflicted.delete(ip);
        }
        const r = this.responder(iface);
        if (!r) continue;
        if (desired.fresh.has(ip)) {
          void r.claim(ip, ip.includes(':') ? {} : { timings: FAST_TIMINGS }).then((res) => {
            if (res.result === 'claimed') this.o.onClaimed?.(ip, iface);
            else if (res.result === 'conflict' && this.o.peerOwning?.(res.mac) && !this.conflicted.has(ip)) {
              this.o.log.info(
                { ip, interface: iface, peer: this.o.peerOwning(res.mac) },
                'another speaker still answers: taking over',
              );
              r.announce(ip);
              this.o.onClaimed?.(ip, iface);
            } else if (res.result === 'conflict') {
              if (this.conflicted.has(ip)) return;
              this.conflicted.set(ip, res.mac);
              this.o.onConflict({ ip, interfaceName: iface, mac: res.mac, evidence: res.evidence });
            }
          });
        } else {
          r.announce(ip);
          this.o.onClaimed?.(ip, iface);
        }
      }
    }
    this.current = next;
  }

  /** clearConflict lets an address be announced again (the other host is gone or the user says so). */
  clearConflict(ip: string): void {
    this.conflicted.delete(ip);
  }

  private ensurePolling(): void {
    if (this.pollTimer) return;
    const poll = () => {
      this.pollLinks();
      this.pollTimer = this.clock.setTimeout(poll, this.o.linkPollMs ?? 500);
    };
    this.pollTimer = this.clock.setTimeout(poll, this.o.linkPollMs ?? 500);
  }

  private pollLinks(): void {
    for (const [name, r] of this.responders) {
      let up: boolean;
      try {
        up = readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim() !== 'down';
      } catch {
        up = false;
      }
      const was = this.linkUp.get(name);
      this.linkUp.set(name, up);
      if (up && was === false) {
        this.o.log.info({ interface: name }, 'link came back: announcing again');
        for (const ip of r.announced) r.announce(ip);
      }
    }
  }

  /**
   * quiesce starts a graceful handoff on every interface (L2Responder.quiesce): no more gratuitous rounds or
   * defending, answers only to clients that still send here. Link changes no longer re-announce.
   */
  quiesce(): void {
    this.pollTimer?.cancel();
    for (const r of this.responders.values()) r.quiesce();
  }

  /** close stops answering everywhere and closes every socket. */
  close(): void {
    this.pollTimer?.cancel();
    for (const r of this.responders.values()) r.close();
    this.responders.clear();
    this.current.clear();
  }
}
