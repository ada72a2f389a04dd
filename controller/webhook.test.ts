import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';
import { review, serveWebhook } from './webhook.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function selfSigned(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-days', '1', '-subj', '/CN=webhook.test', '-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}

describe('serveWebhook', () => {
  it('reloads a changed certificate once, 200 ms on its clock after the last change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironlb-webhook-'));
    dirs.push(dir);
    const files = selfSigned(dir);
    const info = vi.fn();
    const log = { info, warn: vi.fn(), debug: vi.fn(), error: vi.fn() } as unknown as Logger;
    const clock = new ManualClock();
    const server = await serveWebhook({
      port: 0,
      host: '127.0.0.1',
      ...files,
      namespace: 'ironlb-system',
      existing: () => [],
      log,
      clock,
    });
    try {
      selfSigned(dir);
      await vi.waitFor(() => expect(clock.pending).toBe(1));
      clock.advance(199);
      expect(info).not.toHaveBeenCalled();
      clock.advance(1);
      expect(info).toHaveBeenCalledWith({ cert: files.certFile }, 'webhook certificate reloaded');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('review of an object outside the load balancer namespace', () => {
  const ours = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'ours', namespace: 'ironlb-system', uid: 'u1', resourceVersion: '1' },
    spec: { addresses: ['192.0.2.0/28'] },
  };
  // another pool over the same addresses: refused in our namespace as an overlap
  const pool = (namespace: string) => ({
    uid: 'r1',
    kind: { kind: 'IPAddressPool' },
    operation: 'CREATE',
    name: 'theirs',
    namespace,
    object: { ...ours, metadata: { name: 'theirs', namespace } },
  });

  it('admits it with a warning that it is ignored, not judged against our objects', () => {
    expect(review('IPAddressPool', pool('metallb-system'), [ours], 'ironlb-system')).toEqual({
      allowed: true,
      warnings: [
        'IPAddressPool "theirs" is in namespace "metallb-system": IronLB reads metallb.io objects only in namespace "ironlb-system" and ignores this one',
      ],
    });
  });

  it('still judges the same object in our namespace against ours', () => {
    const verdict = review('IPAddressPool', pool('ironlb-system'), [ours], 'ironlb-system');
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toContain('ours');
  });

  it('lets a BFDProfile elsewhere be deleted even when one of our peers uses that name', () => {
    const peer = {
      kind: 'BGPPeer',
      metadata: { name: 'p', namespace: 'ironlb-system' },
      spec: { bfdProfile: 'b' },
    };
    const del = (namespace: string) => ({
      uid: 'r2',
      kind: { kind: 'BFDProfile' },
      operation: 'DELETE',
      name: 'b',
      namespace,
    });
    expect(review('BFDProfile', del('other'), [peer], 'ironlb-system')).toEqual({ allowed: true });
    expect(review('BFDProfile', del('ironlb-system'), [peer], 'ironlb-system').allowed).toBe(false);
  });
});
