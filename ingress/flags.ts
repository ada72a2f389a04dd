// The ingress program's flags beyond the shell's: the port and port-range checks (a bad value exits with
// status 2 before anything starts) and the mapping of the parsed flags onto createIngress's options.
import type { Flags } from '../edge/program.ts';
import type { PortRange } from '../src/gateway/build.ts';
import type { IngressOptions } from './app.ts';

const PORTS = ['http-port', 'https-port', 'http-public-port', 'https-public-port'] as const;
const RANGES = ['gateway-ports', 'gateway-tls-ports', 'gateway-passthrough-ports'] as const;

/** port reads a port flag; https-port may be 0 (TLS off). */
export function port(f: Flags, name: string): number | undefined {
  const n = Number(f[name]);
  const ok = Number.isInteger(n) && n >= (name === 'https-port' ? 0 : 1) && n <= 65535;
  return ok ? n : undefined;
}

/** portRange parses "A-B" (1 ≤ A ≤ B ≤ 65535), or undefined. */
export function portRange(text: unknown): PortRange | undefined {
  const m = typeof text === 'string' ? /^(\d+)-(\d+)$/.exec(text.trim()) : null;
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return first >= 1 && first <= last && last <= 65535 ? { first, last } : undefined;
}

/** checkFlags names the first port or port-range flag that does not parse, followed by usage; or undefined. */
export function checkFlags(f: Flags, usage: string): string | undefined {
  const bad = PORTS.find((name) => port(f, name) === undefined);
  if (bad) return `--${bad} must be a port number, not "${String(f[bad])}"\n\n${usage}`;
  const badRange = RANGES.find((name) => portRange(f[name]) === undefined);
  return badRange && `--${badRange} must be a port range A-B, not "${String(f[badRange])}"\n\n${usage}`;
}

/** ingressOptions maps flags that passed checkFlags onto createIngress's options. */
export function ingressOptions(f: Flags): IngressOptions {
  return {
    namespace: f.namespace as string,
    service: f.service as string,
    className: f['ingress-class'] as string,
    controller: f.controller as string,
    watchWithoutClass: f['watch-without-class'] === true,
    identity: f.identity as string,
    runDir: f['run-dir'] as string,
    haproxy: f.haproxy as string,
    binds: (f.bind as string).split(',').flatMap((s) => (s.trim() ? [s.trim()] : [])),
    httpPort: port(f, 'http-port') as number,
    httpsPort: port(f, 'https-port') as number,
    publicHttpPort: port(f, 'http-public-port') as number,
    publicHttpsPort: port(f, 'https-public-port') as number,
    debounceMs: Number(f['debounce-ms']),
    gatewayController: f['gateway-controller'] as string,
    gatewayHttpPorts: portRange(f['gateway-ports']) as PortRange,
    gatewayHttpsPorts: portRange(f['gateway-tls-ports']) as PortRange,
    gatewayPassthroughPorts: portRange(f['gateway-passthrough-ports']) as PortRange,
  };
}
