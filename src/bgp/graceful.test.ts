import { describe, expect, it } from 'vitest';
import { planGracefulStop, type NodeState } from './graceful.ts';
import type { PeerSpec } from './peer.ts';

const peer = (address: string, gracefulRestart?: boolean): PeerSpec => ({
  address,
  peerASN: 64512,
  myASN: 64513,
  holdTime: 90,
  keepaliveTime: 30,
  families: { ipv4: true, ipv6: false },
  ...(gracefulRestart !== undefined ? { gracefulRestart } : {}),
});
const node = (change: Partial<NodeState> = {}): NodeState => ({
  unschedulable: false,
  ready: true,
  deleting: false,
  ...change,
});

describe('planGracefulStop', () => {
  it.each([
    [
      'a rollout: every session has graceful restart, the node stays',
      [peer('192.0.2.1', true)],
      node(),
      true,
      'gracefulRestart',
    ],
    ['no graceful restart', [peer('192.0.2.1')], node(), false, 'noGracefulRestart'],
    [
      'one session of two without it',
      [peer('192.0.2.1', true), peer('192.0.2.2', false)],
      node(),
      false,
      'noGracefulRestart',
    ],
    ['no sessions', [], node(), false, 'noGracefulRestart'],
    [
      'the node is cordoned (drain)',
      [peer('192.0.2.1', true)],
      node({ unschedulable: true }),
      false,
      'nodeCordoned',
    ],
    [
      'the node is shutting down (NotReady)',
      [peer('192.0.2.1', true)],
      node({ ready: false }),
      false,
      'nodeNotReady',
    ],
    ['the Node is being deleted', [peer('192.0.2.1', true)], node({ deleting: true }), false, 'nodeDeleting'],
    [
      'the API server did not answer',
      [peer('192.0.2.1', true)],
      undefined,
      true,
      'gracefulRestartNodeUnknown',
    ],
  ] as const)('%s', (_story, peers, state, keep, reason) => {
    expect(planGracefulStop(peers, state)).toEqual({ keep, reason });
  });
});
