// What a stopping speaker does with its BGP paths when its sessions have graceful restart (RFC 4724,
// BGPPeer.enableGracefulRestart). Withdrawing first is right when the node is going away: the routers move the
// traffic before the node stops forwarding. On a speaker restart (a rollout of the DaemonSet, a new pod on the
// same node) the node keeps forwarding (kube-proxy is not part of the speaker), and withdrawing only makes the
// routers shrink their ECMP set and grow it again, moving flows between nodes twice; a connection whose packets
// move to another node mid-flow is reset there (no conntrack entry). With graceful restart the speaker leaves
// its paths in place: the session closes without a NOTIFICATION, the routers keep the routes (stale) and the
// next speaker on the node announces them again.
import type { PeerSpec } from './peer.ts';

/** NodeState is what the stop decision needs of this node's Node object. */
export interface NodeState {
  /** unschedulable: cordoned (kubectl cordon / drain). */
  readonly unschedulable: boolean;
  /** ready: the Ready condition is True (a node shutting down reports NotReady first). */
  readonly ready: boolean;
  /** deleting: the Node object has a deletion timestamp. */
  readonly deleting: boolean;
}

/** GracefulStop says whether a stopping speaker keeps its paths for the routers (keep) or withdraws them, and why. */
export type GracefulStop =
  | { readonly keep: true; readonly reason: 'gracefulRestart' | 'gracefulRestartNodeUnknown' }
  | {
      readonly keep: false;
      readonly reason: 'noGracefulRestart' | 'nodeCordoned' | 'nodeNotReady' | 'nodeDeleting';
    };

/**
 * planGracefulStop decides what a stopping speaker does with its paths. It keeps them only when every session
 * of the node has graceful restart (a withdrawal reaches every session; one without graceful restart would
 * drop the routes anyway) and the node is not leaving: cordoned, NotReady or being deleted means withdraw
 * first, as without graceful restart. An unknown node state (the API server did not answer) keeps them: the
 * routers drop stale routes by themselves after the restart time.
 */
export function planGracefulStop(peers: readonly PeerSpec[], node: NodeState | undefined): GracefulStop {
  if (peers.length === 0 || !peers.every((p) => p.gracefulRestart === true))
    return { keep: false, reason: 'noGracefulRestart' };
  if (node === undefined) return { keep: true, reason: 'gracefulRestartNodeUnknown' };
  if (node.deleting) return { keep: false, reason: 'nodeDeleting' };
  if (node.unschedulable) return { keep: false, reason: 'nodeCordoned' };
  if (!node.ready) return { keep: false, reason: 'nodeNotReady' };
  return { keep: true, reason: 'gracefulRestart' };
}
