import { describe, expect, it } from 'vitest';
import { endpointUsable, summariseEndpoints, type SliceView } from './endpoints.ts';

describe('endpointUsable', () => {
  it.each([
    ['no conditions (nil means ready)', undefined, true],
    ['ready', { ready: true }, true],
    ['ready unknown', { ready: null }, true],
    ['not ready', { ready: false }, false],
    ['not ready but serving while terminating', { ready: false, serving: true, terminating: true }, true],
    ['serving but not terminating (starting up)', { ready: false, serving: true, terminating: false }, false],
  ])('%s', (_, conditions, usable) => {
    expect(endpointUsable(conditions)).toBe(usable);
  });
});

describe('summariseEndpoints', () => {
  const slice = (ns: string, svc: string | undefined, eps: SliceView['endpoints']): SliceView => ({
    metadata: { namespace: ns, labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
    endpoints: eps,
  });

  it('merges the slices of one Service and keeps only nodes with a usable endpoint', () => {
    const m = summariseEndpoints([
      slice('app', 'web', [{ nodeName: 'n1' }, { nodeName: 'n2', conditions: { ready: false } }]),
      slice('app', 'web', [
        { nodeName: 'n3', conditions: { ready: false, serving: true, terminating: true } },
      ]),
      slice('app', 'idle', [{ nodeName: 'n1', conditions: { ready: false } }]),
      slice('app', undefined, [{ nodeName: 'n9' }]),
    ]);
    expect(m.get('app/web')).toEqual({ ready: true, nodes: new Set(['n1', 'n3']) });
    expect(m.get('app/idle')).toEqual({ ready: false, nodes: new Set() });
    expect([...m.keys()].sort()).toEqual(['app/idle', 'app/web']);
  });
});
