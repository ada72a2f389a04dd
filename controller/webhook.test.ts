import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';
import { serveWebhook } from './webhook.ts';

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
