// Speaker liveness without the API server: every speaker sends a small heartbeat to every other node every
// interval on the node network; a peer not heard from for `timeoutMs` is dead. A speaker that shuts down
// gracefully says "leaving" (with the time it will stop answering), so the others take over at once.
// Pure: the edge (speaker/liveness.ts) passes in received messages and the current time.

/** HEARTBEAT_VERSION is the wire format version; messages of other versions are ignored. */
export const HEARTBEAT_VERSION = 1;

/** Heartbeat is one message on the wire. `incarnation` changes when a speaker restarts. */
export interface Heartbeat {
  v: number;
  node: string;
  incarnation: number;
  seq: number;
  state: 'alive' | 'leaving';
  /**
   * macs: the MAC addresses this speaker answers ARP/NDP with. A peer that sees one of them answer for an
   * address it probes knows another speaker (not a stranger) holds it, so that is no conflict.
   */
  macs?: string[];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** encodeHeartbeat renders a heartbeat as compact JSON bytes (about 80 bytes). */
export function encodeHeartbeat(h: Heartbeat): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify([
      h.v,
      h.node,
      h.incarnation,
      h.seq,
      h.state === 'leaving' ? 1 : 0,
      ...(h.macs?.length ? [h.macs] : []),
    ]),
  );
}

/** decodeHeartbeat parses bytes from the network; anything malformed yields undefined (never throws). */
export function decodeHeartbeat(bytes: Uint8Array): Heartbeat | undefined {
  if (bytes.length === 0 || bytes.length > 512) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw) || (raw.length !== 5 && raw.length !== 6)) return undefined;
  const [v, node, incarnation, seq, leaving, macs] = raw as unknown[];
  if (
    macs !== undefined &&
    !(Array.isArray(macs) && macs.length <= 32 && macs.every((m) => typeof m === 'string' && MAC.test(m)))
  )
    return undefined;
  if (v !== HEARTBEAT_VERSION || typeof node !== 'string' || node.length === 0 || node.length > 253)
    return undefined;
  if (!Number.isSafeInteger(incarnation) || !Number.isSafeInteger(seq) || (leaving !== 0 && leaving !== 1))
    return undefined;
  return {
    v,
    node,
    incarnation: incarnation as number,
    seq: seq as number,
    state: leaving === 1 ? 'leaving' : 'alive',
    ...(macs !== undefined ? { macs: macs as string[] } : {}),
  };
}

/** MembershipOptions: who we are and how long silence means death. */
export interface MembershipOptions {
  self: string;
  /** timeoutMs: a peer silent for longer is dead. Three to four heartbeat intervals is typical. */
  timeoutMs: number;
}

interface PeerState {
  incarnation: number;
  seq: number;
  lastHeard: number;
  leaving: boolean;
}

/** MembershipChange says which peers came alive or died in one step. */
export interface MembershipChange {
  joined: string[];
  left: string[];
}

/**
 * Membership tracks which speakers are alive. Cost: O(1) per heartbeat, O(peers) per expire(). A heartbeat
 * from an older incarnation, or an older sequence number of the current one, is ignored (reordered or stale
 * datagrams cannot revive a peer that said it was leaving).
 */
export class Membership {
  private readonly o: MembershipOptions;
  private readonly peers = new Map<string, PeerState>();
  private readonly aliveSet = new Set<string>();
  /** macsByNode: the MACs each peer last said it answers with (kept after it dies: its frames may linger). */
  private readonly macsByNode = new Map<string, readonly string[]>();
  private selfLeaving = false;

  constructor(options: MembershipOptions) {
    this.o = options;
  }

  /** alive returns the sorted names of live speakers, this one included unless it is leaving. */
  alive(): string[] {
    const out = [...this.aliveSet];
    if (!this.selfLeaving) out.push(this.o.self);
    return out.sort();
  }

  /** isAlive reports one node. */
  isAlive(node: string): boolean {
    return node === this.o.self ? !this.selfLeaving : this.aliveSet.has(node);
  }

  /** leave marks this speaker as leaving (it stops counting itself). */
  leave(): void {
    this.selfLeaving = true;
  }

  /** receive applies one heartbeat heard at `now`; returns what changed. */
  receive(h: Heartbeat, now: number): MembershipChange {
    const change: MembershipChange = { joined: [], left: [] };
    if (h.node === this.o.self) return change;
    const p = this.peers.get(h.node);
    if (p && (h.incarnation < p.incarnation || (h.incarnation === p.incarnation && h.seq <= p.seq)))
      return change;
    const leaving = h.state === 'leaving';
    if (h.macs) this.macsByNode.set(h.node, h.macs);
    this.peers.set(h.node, { incarnation: h.incarnation, seq: h.seq, lastHeard: now, leaving });
    const was = this.aliveSet.has(h.node);
    if (leaving && was) {
      this.aliveSet.delete(h.node);
      change.left.push(h.node);
    } else if (!leaving && !was) {
      this.aliveSet.add(h.node);
      change.joined.push(h.node);
    }
    return change;
  }

  /** expire declares dead every peer silent for longer than timeoutMs at `now`; returns what changed. */
  expire(now: number): MembershipChange {
    const change: MembershipChange = { joined: [], left: [] };
    for (const node of [...this.aliveSet]) {
      const p = this.peers.get(node);
      if (!p || now - p.lastHeard > this.o.timeoutMs) {
        this.aliveSet.delete(node);
        change.left.push(node);
      }
    }
    change.left.sort();
    return change;
  }

  /** peerOwning returns the peer speaker that answers with mac, or undefined for a stranger. O(peers × macs). */
  peerOwning(mac: string): string | undefined {
    for (const [node, macs] of this.macsByNode) if (macs.includes(mac)) return node;
    return undefined;
  }

  /** forget drops a node entirely (it left the cluster). */
  forget(node: string): void {
    this.macsByNode.delete(node);
    this.peers.delete(node);
    this.aliveSet.delete(node);
  }
}
