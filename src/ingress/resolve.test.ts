import { describe, expect, it } from 'vitest';
import { snapshotResolver, type Snapshot } from './resolve.ts';

const b64 = (s: string) => btoa(s);
const snapshot: Snapshot = {
  services: [
    {
      metadata: { name: 'web', namespace: 'ns' },
      spec: {
        ports: [
          { name: 'http', port: 80 },
          { name: 'admin', port: 9000 },
        ],
      },
    },
    { metadata: { name: 'one', namespace: 'ns' }, spec: { ports: [{ port: 80 }] } },
    { metadata: { name: 'ext', namespace: 'ns' }, spec: { type: 'ExternalName' } },
  ],
  endpointSlices: [
    {
      metadata: { name: 'web-a', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [
        { name: 'http', port: 8080 },
        { name: 'admin', port: 9090 },
      ],
      endpoints: [
        { addresses: ['10.0.0.2'], conditions: { ready: true } },
        { addresses: ['10.0.0.1'], conditions: { ready: null } },
        { addresses: ['10.0.0.3'], conditions: { ready: false } },
      ],
    },
    {
      metadata: { name: 'web-b', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv6',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: ['fd00::1'] }, { addresses: ['10.0.0.2'] }],
    },
    {
      metadata: { name: 'one-a', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'one' } },
      ports: [{ name: '', port: 3000 }],
      endpoints: [{ addresses: ['10.0.1.1'] }],
    },
  ],
  secrets: [
    {
      metadata: { name: 'tls', namespace: 'ns' },
      data: {
        'tls.crt': b64('-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n\n'),
        'tls.key': b64('-----BEGIN PRIVATE KEY-----\nY\n-----END PRIVATE KEY-----'),
      },
    },
    { metadata: { name: 'half', namespace: 'ns' }, data: { 'tls.crt': b64('x') } },
    { metadata: { name: 'junk', namespace: 'ns' }, data: { 'tls.crt': b64('x'), 'tls.key': b64('y') } },
  ],
};
const r = snapshotResolver(snapshot);

describe('snapshotResolver.endpoints', () => {
  it('maps the Service port to the slice port by name and keeps ready (or unknown) endpoints once', () => {
    expect(r.endpoints('ns', 'web', { number: 80 })).toEqual({
      endpoints: [
        { address: '10.0.0.2', port: 8080 },
        { address: '10.0.0.1', port: 8080 },
        { address: 'fd00::1', port: 8080 },
      ],
    });
    expect(r.endpoints('ns', 'web', { name: 'admin' })).toEqual({
      endpoints: [
        { address: '10.0.0.2', port: 9090 },
        { address: '10.0.0.1', port: 9090 },
      ],
    });
    expect(r.endpoints('ns', 'one', { number: 80 })).toEqual({
      endpoints: [{ address: '10.0.1.1', port: 3000 }],
    });
  });
  it.each([
    ['ns', 'nope', { number: 80 }, 'service "ns/nope" not found'],
    ['ns', 'web', { number: 81 }, 'service "ns/web" has no port 81'],
    ['ns', 'web', { name: 'x' }, 'service "ns/web" has no port "x"'],
    ['ns', 'ext', { number: 80 }, 'service "ns/ext" is of type ExternalName, which is not supported'],
  ])('%s/%s %j: %s', (ns, svc, port, problem) => {
    expect(r.endpoints(ns, svc, port)).toEqual({ endpoints: [], problem });
  });
});

describe('snapshotResolver.tls', () => {
  it('joins certificate and key into one PEM', () => {
    expect(r.tls('ns', 'tls').pem).toBe(
      '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nY\n-----END PRIVATE KEY-----\n',
    );
  });
  it.each([
    ['missing', 'not found'],
    ['half', 'has no "tls.crt" or no "tls.key"'],
    ['junk', 'does not hold a PEM certificate and private key'],
  ])('%s: %s', (name, problem) => expect(r.tls('ns', name)).toEqual({ problem }));
});
