// Announcer is the one interface every announcing protocol implements (L2 in l2-protocol.ts, BGP in
// bgp-speaker.ts): the speaker takes one snapshot of its inputs, asks each announcer for a plan (pure: the
// decisions and their named reasons) and has it apply that plan; on shutdown it stops each one.
import type { SpeakerSnapshot } from '../src/announce/snapshot.ts';

/** Announcer announces this node's share of the Service addresses with one protocol. */
export interface Announcer<P = unknown> {
  /** protocol: the label metrics and Events use ("layer2", "bgp"). */
  readonly protocol: string;
  /** plan decides from the snapshot alone what this node announces (no I/O). */
  plan(snapshot: SpeakerSnapshot): P;
  /** apply converges the wire (and status, Events, metrics) on the plan; never throws, retries itself. */
  apply(plan: P, trigger: string): void;
  /** stop hands over or withdraws what this node announces, then releases its resources. */
  stop(): Promise<void>;
  /**
   * ready (optional; absent means ready) says the announcer has made this node's announcements reach the
   * network once since start: the speaker's readiness waits for it, so a rolling update does not stop the next
   * node's speaker before this one announces again.
   */
  ready?(): boolean;
}
