import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { Informer, isUnreachable, slimObject } from './informer.ts';
import type { Logger } from './log.ts';
import { Reachability } from './reachability.ts';

// recordingLog keeps every line by level; enough of pino's Logger for the informer.
function recordingLog() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg = '') =>
      lines.push({ level, msg, fields });
  const log = { warn: at('warn'), info: at('info'), debug: at('debug'), error: at('error') };
  return { log: log as unknown as Logger, lines };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });

// A flush of the microtask queue: the client's informer reports a failed list after a few awaits.
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('Informer backoff during an outage', () => {
  it('keeps backing off while the API server is down, logs it once, and once when it is back', async () => {
    const clock = new ManualClock(0);
    const { log, lines } = recordingLog();
    let up = false;
    const informer = new Informer<k8s.V1ConfigMap>(kubeConfig(), {
      name: 'configmaps',
      path: '/api/v1/configmaps',
      // the list is our own function: down, it fails like a refused connection; up, it returns nothing and the
      // informer goes on to watch (that part fails too, on the closed port, and is not what this test counts)
      list: async () => {
        if (!up) throw refused();
        return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '' }, items: [] };
      },
      clock,
      random: () => 0.5,
      backoff: { baseMs: 200, capMs: 30_000, jitter: 0.2 },
      log,
      reachability: new Reachability(clock),
    });
    await informer.start();
    await settle();
    // 60 s of outage: follow every retry the informer schedules
    const delays: number[] = [];
    while (clock.now() < 60_000) {
      const retry = lines.filter((l) => l.msg === 'watch failed; restarting').at(-1);
      const d = Number(retry?.fields.retryInMs);
      delays.push(d);
      clock.advance(d);
      await settle();
    }
    expect(delays.slice(0, 6)).toEqual([200, 400, 800, 1600, 3200, 6400]);
    expect(Math.max(...delays)).toBe(30_000);
    expect(delays.length).toBeLessThan(15); // was one retry every ~200 ms: ~300 in a minute
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l.msg)).toEqual([
      'API server unreachable; retrying with backoff (logged again when it is back)',
    ]);
    // back: the next restart lists; the line says how long it was down
    up = true;
    clock.advance(30_000);
    await settle();
    const back = lines.filter((l) => l.msg.startsWith('API server back after'));
    expect(back).toHaveLength(1);
    expect(Number(back[0]?.fields.outageMs)).toBeGreaterThanOrEqual(60_000);
    await informer.stop();
  });
});

describe('Informer refused by the API server', () => {
  it('warns once naming the fix, backs off with jitter, and says once when the watch is allowed', async () => {
    const clock = new ManualClock(0);
    const { log, lines } = recordingLog();
    let allowed = false;
    const informer = new Informer<k8s.V1Secret>(kubeConfig(), {
      name: 'secrets',
      path: '/api/v1/namespaces/ironlb-system/secrets',
      // RBAC without list on secrets: the API server answers 403 until the Role is applied
      list: async () => {
        if (!allowed)
          throw new k8s.ApiException(
            403,
            'Forbidden',
            JSON.stringify({ message: 'secrets is forbidden: User "sa" cannot list resource "secrets"' }),
            {},
          );
        return { apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: '' }, items: [] };
      },
      clock,
      random: () => 0.9,
      backoff: { baseMs: 200, capMs: 10_000, jitter: 0.2 },
      log,
      reachability: new Reachability(clock),
      refusedHint: "apply deploy/'s Role",
    });
    await informer.start();
    await settle();
    const retries = () =>
      lines.filter((l) => l.msg.startsWith('watch')).map((l) => Number(l.fields.retryInMs));
    // ten minutes of refusals: follow every retry the informer schedules
    while (clock.now() < 600_000) {
      clock.advance(retries().at(-1) ?? NaN);
      await settle();
    }
    const delays = retries();
    // jittered (random 0.9: +16 %), doubling, then at the cap (jitter only shortens a capped delay)
    expect(delays.slice(0, 4)).toEqual([232, 464, 928, 1856]);
    expect(Math.max(...delays)).toBe(10_000);
    expect(delays.length).toBeLessThan(70);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toBe(
      "watch of secrets refused by the API server (apply deploy/'s Role); retrying with backoff (logged again when it is allowed)",
    );
    expect(warnings[0]?.fields.err).toBe(
      'HTTP 403: secrets is forbidden: User "sa" cannot list resource "secrets"',
    );
    // no outage: the API server answered every time
    expect(lines.some((l) => l.msg.startsWith('API server'))).toBe(false);

    // the Role is applied: the next attempt lists, said once with how long it was refused
    allowed = true;
    clock.advance(10_000);
    await settle();
    const back = lines.filter((l) => l.msg.startsWith('watch of secrets allowed again after'));
    expect(back).toHaveLength(1);
    expect(back[0]?.level).toBe('info');
    expect(Number(back[0]?.fields.refusedMs)).toBeGreaterThanOrEqual(600_000);
    expect(back[0]?.fields.refusedAttempts).toBe(delays.length);
    await informer.stop();
  });
});

describe('isUnreachable', () => {
  it.each([
    [refused(), true],
    [new k8s.ApiException(503, 'unavailable', '', {}), true],
    [new k8s.ApiException(429, 'too many', '', {}), true],
    [new k8s.ApiException(403, 'forbidden', '', {}), false],
    [Object.assign(new Error('Not Found'), { statusCode: 404 }), false],
  ])('%s → %s', (err, want) => {
    expect(isUnreachable(err)).toBe(want);
  });
});

describe('slimObject', () => {
  it('drops managedFields and last-applied-configuration, keeps what programs read', () => {
    const svc: k8s.V1Service = {
      metadata: {
        name: 's',
        namespace: 'n',
        resourceVersion: '7',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}',
          'metallb.io/address-pool': 'lab',
        },
        managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: {} }],
      },
      spec: { type: 'LoadBalancer' },
    };
    expect(slimObject(svc)).toEqual({
      metadata: {
        name: 's',
        namespace: 'n',
        resourceVersion: '7',
        annotations: { 'metallb.io/address-pool': 'lab' },
      },
      spec: { type: 'LoadBalancer' },
    });
  });
});

describe('Reachability', () => {
  it('one outage however the watches recover: back only when every failing watch answered again', () => {
    const clock = new ManualClock(0);
    const { log, lines } = recordingLog();
    const r = new Reachability(clock);
    r.failed(log, { source: 'services', err: 'refused' });
    r.failed(log, { source: 'ipaddresspools', err: 'refused' });
    clock.advance(60_000);
    r.succeeded(log, { source: 'services' }); // the restarting API server serves core resources first
    r.failed(log, { source: 'ipaddresspools', err: 'HTTP 503' });
    clock.advance(2_000);
    r.succeeded(log, { source: 'ipaddresspools' });
    r.succeeded(log, { source: 'services' });
    expect(lines.map((l) => `${l.level}: ${l.msg}`)).toEqual([
      'warn: API server unreachable; retrying with backoff (logged again when it is back)',
      'info: API server back after 62.0 s',
    ]);
  });
});
