import { describe, expect, it } from 'vitest';
import { parseConfig } from './parse.ts';
import { keepPasswordOnly, passwordSecretNames, redactSecret } from './secret.ts';

const NS = 'ironlb-system';
const secret = (name: string, data: Record<string, string>, type = 'kubernetes.io/basic-auth') => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: '7', managedFields: [{}] },
  type,
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
});
const peer = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'metallb.io/v1beta2',
  kind: 'BGPPeer',
  metadata: { name, namespace: NS, creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { myASN: 64500, peerASN: 64512, peerAddress: '192.0.2.1', ...spec },
});

describe('keepPasswordOnly', () => {
  it("keeps a basic-auth Secret's password and no other value", () => {
    const kept = keepPasswordOnly(secret('bgp', { password: 'hunter2', username: 'admin' }));
    expect(kept.data).toEqual({ password: btoa('hunter2'), username: '' });
    const p = peer('p', { passwordSecret: { name: 'bgp' } });
    const r = parseConfig([p, kept], { namespace: NS });
    expect(r.problems).toEqual([]);
    expect(r.config.peers[0]?.password).toBe('hunter2');
  });

  it('keeps no value of any other Secret (a TLS key, an Opaque password)', () => {
    const tls = keepPasswordOnly(secret('cert', { 'tls.key': 'KEY', 'tls.crt': 'CRT' }, 'kubernetes.io/tls'));
    expect(tls.data).toEqual({ 'tls.key': '', 'tls.crt': '' });
    const opaque = keepPasswordOnly(secret('o', { password: 'hunter2' }, 'Opaque'));
    expect(JSON.stringify(opaque)).not.toContain(btoa('hunter2'));
  });
});

describe('redactSecret', () => {
  it('keeps identity, type and key names, and no value', () => {
    const r = redactSecret(secret('bgp', { password: 'hunter2', username: 'admin' }));
    expect(r).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bgp', namespace: NS, uid: 'uid-bgp', resourceVersion: '7' },
      type: 'kubernetes.io/basic-auth',
      data: { password: '', username: '' },
    });
    expect(JSON.stringify(r)).not.toContain(btoa('hunter2'));
    expect(redactSecret({ stringData: { password: 'x' } }).data).toEqual({ password: '' });
  });

  it('is enough for the parse step to tell each password Secret problem apart (controller story)', () => {
    const p = peer('p', { passwordSecret: { name: 'bgp' } });
    const story: Array<[string, unknown[], string | undefined, boolean]> = [
      ['no Secret yet', [], 'Secret "ironlb-system/bgp" named in spec.passwordSecret does not exist', true],
      [
        'wrong type',
        [secret('bgp', { password: 'hunter2' }, 'Opaque')],
        'needs type "kubernetes.io/basic-auth"',
        false,
      ],
      ['no password key', [secret('bgp', { username: 'hunter2' })], 'has no "password" key', false],
      ['fixed', [secret('bgp', { password: 'hunter2' })], undefined, false],
    ];
    for (const [, secrets, message, retryable] of story) {
      const r = parseConfig([p, ...secrets.map((s) => redactSecret(s as never))], { namespace: NS });
      if (message === undefined) {
        expect(r.problems).toEqual([]);
        expect(r.config.peers[0]?.password).toBe('');
        continue;
      }
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]?.message).toContain(message);
      expect(r.problems[0]?.retryable).toBe(retryable);
    }
  });

  it('a peer missing both its Secret and its BFDProfile is told of both', () => {
    const r = parseConfig([peer('p', { passwordSecret: { name: 'bgp' }, bfdProfile: 'fast' })], {
      namespace: NS,
    });
    expect(r.problems).toEqual([
      expect.objectContaining({
        kind: 'BGPPeer',
        name: 'p',
        retryable: true,
        message:
          'BGPPeer "p": Secret "ironlb-system/bgp" named in spec.passwordSecret does not exist; ' +
          'BFDProfile "fast" named in spec.bfdProfile does not exist',
      }),
    ]);
  });
});

describe('passwordSecretNames', () => {
  it('lists the Secrets BGPPeers name, skipping peers without one', () => {
    expect(
      passwordSecretNames([peer('a', { passwordSecret: { name: 's1' } }), peer('b'), null, 'x']),
    ).toEqual(new Set(['s1']));
  });
});
