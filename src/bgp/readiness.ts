// When a starting speaker counts as ready in BGP mode. Readiness paces a rolling update of the speaker
// DaemonSet (maxUnavailable 1): the next node's speaker is stopped only once this one is ready. A speaker that
// reported ready before its sessions were back let a rollout stop two nodes' paths at once (the lab's router
// was left without a path for 1–2.5 s), so it waits for every session of its plan to be established — but not
// forever: a router that is down must not hold a rollout, so after a bounded wait it reports ready anyway.

/** READY_WAIT_MS: how long after start a speaker waits for its sessions (gobgpd connects 5–10 s after AddPeer). */
export const READY_WAIT_MS = 45_000;

/** BgpReadiness is the decision and, when it is not "all established", the peers still waited for. */
export type BgpReadiness =
  | { readonly ready: false; readonly waiting: readonly string[] }
  | {
      readonly ready: true;
      readonly reason: 'established' | 'noPeers' | 'waitedTooLong';
      readonly waiting: readonly string[];
    };

/**
 * bgpReadiness decides from the plan's peers (name and session state) and the time since start. Once a
 * speaker has been ready it stays ready (the caller latches it): a router going away later is not this pod's
 * failure, and a pod that turns unready would only pause the rollout of another node.
 */
export function bgpReadiness(
  peers: readonly { readonly name: string; readonly state: string | undefined }[],
  waitedMs: number,
  readyWaitMs: number = READY_WAIT_MS,
): BgpReadiness {
  if (peers.length === 0) return { ready: true, reason: 'noPeers', waiting: [] };
  const waiting = peers.filter((p) => p.state !== 'ESTABLISHED').map((p) => p.name);
  if (waiting.length === 0) return { ready: true, reason: 'established', waiting };
  if (waitedMs < readyWaitMs) return { ready: false, waiting };
  return { ready: true, reason: 'waitedTooLong', waiting };
}
