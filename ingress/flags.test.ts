import { describe, expect, it } from 'vitest';
import { checkFlags, ingressOptions, port } from './flags.ts';

const good = {
  namespace: 'ironlb-system',
  service: 'ironlb-ingress',
  'ingress-class': 'ironlb',
  controller: 'ironlb.io/ingress',
  'watch-without-class': false,
  identity: 'pod-1',
  'run-dir': '/run/ironlb',
  haproxy: 'haproxy',
  bind: ' 0.0.0.0, ::,',
  'http-port': '8080',
  'https-port': '8443',
  'http-public-port': '80',
  'https-public-port': '443',
  'debounce-ms': '100',
  'gateway-controller': 'ironlb.io/gateway-controller',
  'gateway-ports': '10000-10063',
  'gateway-tls-ports': '10064-10127',
  'gateway-passthrough-ports': '10128-10191',
};

describe('ingress flags', () => {
  it('accepts the defaults and maps them onto the options', () => {
    expect(checkFlags(good, 'USAGE')).toBeUndefined();
    expect(ingressOptions(good)).toMatchObject({
      binds: ['0.0.0.0', '::'],
      httpPort: 8080,
      httpsPort: 8443,
      publicHttpPort: 80,
      publicHttpsPort: 443,
      debounceMs: 100,
      gatewayHttpPorts: { first: 10000, last: 10063 },
      gatewayHttpsPorts: { first: 10064, last: 10127 },
      gatewayPassthroughPorts: { first: 10128, last: 10191 },
    });
  });

  it('allows 0 only for --https-port (TLS off)', () => {
    expect(port({ 'https-port': '0' }, 'https-port')).toBe(0);
    expect(port({ 'http-port': '0' }, 'http-port')).toBeUndefined();
    expect(port({ 'http-port': '65536' }, 'http-port')).toBeUndefined();
    expect(port({ 'http-port': '80.5' }, 'http-port')).toBeUndefined();
  });

  it('names the first bad flag and appends the usage', () => {
    expect(checkFlags({ ...good, 'http-public-port': 'x' }, 'USAGE')).toBe(
      '--http-public-port must be a port number, not "x"\n\nUSAGE',
    );
    expect(checkFlags({ ...good, 'gateway-tls-ports': '20-10' }, 'USAGE')).toBe(
      '--gateway-tls-ports must be a port range A-B, not "20-10"\n\nUSAGE',
    );
  });
});
