// The BGP side of the speaker (issue 5): peers from BGPPeer objects for this node, paths for the Services this
// node advertises (ETP Cluster: every eligible node; Local: nodes with a local endpoint), through gobgpd.
// This file is the seam speaker/main.ts calls; the implementation fills it in.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Config } from '../src/config/model.ts';
import type { AnnounceNode, AnnounceService } from '../src/announce/l2plan.ts';
import type { Recorder } from '../edge/events.ts';
import type { Logger } from '../edge/log.ts';

/** BgpInputs is what every BGP plan depends on; main.ts passes a fresh one on every change. */
export interface BgpInputs {
  services: readonly AnnounceService[];
  nodes: readonly AnnounceNode[];
  alive: ReadonlySet<string>;
  config: Config;
}

/** BgpSpeakerContext is what main.ts hands over at start. */
export interface BgpSpeakerContext {
  self: string;
  namespace: string;
  kc: KubeConfig;
  log: Logger;
  registry: Registry;
  recorder: Recorder;
  /** gobgpApi: gobgpd's gRPC target; spawn: start gobgpd as a child (false when it is a sidecar container). */
  gobgpApi: string;
  spawn: boolean;
}

/** BgpSpeaker is the running BGP side. */
export interface BgpSpeaker {
  /** replan converges peers and paths on the inputs (cheap when nothing changed). */
  replan(inputs: BgpInputs): void;
  /** stop withdraws this node's paths (graceful) and stops gobgpd if it was spawned. */
  stop(): Promise<void>;
}

/** startBgpSpeaker starts the BGP side; it returns undefined while BGP is not implemented or not wanted. */
export async function startBgpSpeaker(_ctx: BgpSpeakerContext): Promise<BgpSpeaker | undefined> {
  return undefined;
}
