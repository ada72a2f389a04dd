// Helpers for the ingress end-to-end tests: curl from the LAN client (HTTP and HTTPS with --resolve), the
// ingress pods' metrics, logs and HAProxy processes (through the node's containerd), compact Ingress objects.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import type { Lab } from '../../harness/netlab.ts';
import { INGRESS_LAB } from '../../lab/deploy.ts';
import { listPods, type PodView } from '../../lab/install.ts';

/** Answer is one curl exchange from the client: status, the redirect target if any, and the body. */
export interface Answer {
  status: number;
  location: string;
  body: string;
  /** json is the body parsed when it is the echo app's JSON. */
  json: EchoBody | undefined;
}

/** EchoBody is what test/lab/echo.ts answers. */
export interface EchoBody {
  path: string;
  host: string;
  headers: Record<string, string>;
  pod: string;
  node: string;
  client: { address?: string };
}

const MARK = '\n--ironlb-e2e--';

function parseAnswer(stdout: string): Answer {
  const at = stdout.lastIndexOf(MARK);
  const body = at >= 0 ? stdout.slice(0, at) : stdout;
  const [code = '0', ...rest] = (at >= 0 ? stdout.slice(at + MARK.length) : '').trim().split(' ');
  let json: EchoBody | undefined;
  if (body.startsWith('{')) {
    try {
      json = JSON.parse(body) as EchoBody;
    } catch {
      json = undefined;
    }
  }
  return { status: Number(code), location: rest.join(' '), body, json };
}

/**
 * curlFrom runs one curl in a lab role's namespace (default the LAN client) against http://<ip><path> with
 * a Host header, or https://<host><path> resolved to ip with `tls.caFile` as the only trusted CA.
 */
export async function curlFrom(
  lab: Lab,
  ip: string,
  host: string,
  path: string,
  options: { tls?: { caFile: string }; role?: string; headers?: string[] } = {},
): Promise<Answer> {
  const common = ['curl', '-s', '-m', '5', '-w', `${MARK}%{http_code} %{redirect_url}`];
  const headers = (options.headers ?? []).flatMap((h) => ['-H', h]);
  const argv = options.tls
    ? [
        ...common,
        ...headers,
        '--cacert',
        options.tls.caFile,
        '--resolve',
        `${host}:443:${ip}`,
        `https://${host}${path}`,
      ]
    : [...common, ...headers, '-H', `Host: ${host}`, `http://${ip}${path}`];
  const r = await lab.exec(options.role ?? 'client', argv, { check: false });
  if (r.code !== 0)
    return { status: 0, location: '', body: `curl exit ${r.code}: ${r.stderr}`, json: undefined };
  return parseAnswer(r.stdout);
}

/** curlMany sends n plain-HTTP requests (one connection each) from the client and returns the echo bodies. */
export async function curlMany(
  lab: Lab,
  ip: string,
  host: string,
  n: number,
): Promise<(EchoBody | undefined)[]> {
  const script = `for i in $(seq ${n}); do curl -s -m 5 -H 'Host: ${host}' http://${ip}/; echo; done`;
  const r = await lab.exec('client', ['bash', '-c', script], { check: false, timeoutMs: 120_000 });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as EchoBody;
      } catch {
        return undefined;
      }
    });
}

/** metricsOf fetches an ingress pod's /metrics from the client and returns `name{labels} value` → value. */
export async function metricsOf(lab: Lab, pod: PodView): Promise<Map<string, number>> {
  const r = await lab.exec(
    'client',
    ['curl', '-s', '-m', '5', `http://${podV4(pod)}:${INGRESS_LAB.metricsPort}/metrics`],
    { check: false },
  );
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** metricSum adds the samples of metric `name` whose labels include every `key="value"` of `labels`. */
export function metricSum(
  metrics: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const [k, v] of metrics) {
    const base = k.split('{', 1)[0];
    if (base !== name) continue;
    if (Object.entries(labels).every(([lk, lv]) => k.includes(`${lk}="${lv}"`))) sum += v;
  }
  return sum;
}

/** podV4 is a pod's IPv4 address. */
export function podV4(pod: PodView): string {
  return pod.ips.find((a) => !a.includes(':')) ?? pod.ips[0] ?? '';
}

/** containerPids lists the host pids of every process in a pod's container (`ctr task ps` on its node). */
export async function containerPids(lab: Lab, pod: PodView, container: string): Promise<number[]> {
  const id = pod.containers.get(container)?.id;
  if (!id) return [];
  const out = await lab.ctr(pod.node, ['tasks', 'ps', id]).catch(() => '');
  return out
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** haproxyPids lists the HAProxy processes (master and workers) running in an ingress pod's container. */
export async function haproxyPids(lab: Lab, pod: PodView): Promise<number[]> {
  return (await containerPids(lab, pod, 'ingress')).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'haproxy';
    } catch {
      return false;
    }
  });
}

/** ingressPods lists the ingress Deployment's live pods. */
export async function ingressPods(lab: Lab): Promise<PodView[]> {
  return listPods(lab, INGRESS_LAB.namespace, INGRESS_LAB.selector);
}

/** processExists tells whether a pid is still a live process (not a zombie). */
export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** PathRule is [path, pathType, service] (port "http"). */
export type PathRule = [string, string, string];

/** ingressBody builds an Ingress compactly (service ports by name "http"). */
export function ingressBody(
  name: string,
  namespace: string,
  opts: {
    className?: string | null;
    annotations?: Record<string, string>;
    rules?: { host?: string; paths: PathRule[] }[];
    tls?: { hosts: string[]; secretName: string }[];
    defaultBackend?: string;
  },
): k8s.V1Ingress {
  const backend = (svc: string) => ({ service: { name: svc, port: { name: 'http' } } });
  return {
    metadata: { name, namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      ...(opts.className === null ? {} : { ingressClassName: opts.className ?? INGRESS_LAB.className }),
      ...(opts.defaultBackend ? { defaultBackend: backend(opts.defaultBackend) } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.rules
        ? {
            rules: opts.rules.map((r) => ({
              ...(r.host !== undefined ? { host: r.host } : {}),
              http: {
                paths: r.paths.map(([path, pathType, svc]) => ({ path, pathType, backend: backend(svc) })),
              },
            })),
          }
        : {}),
    },
  };
}

/** ingressAddresses reads an Ingress's status addresses (IPs and hostnames). */
export async function ingressAddresses(lab: Lab, namespace: string, name: string): Promise<string[]> {
  const ing = await lab.api.networking.readNamespacedIngress({ name, namespace });
  return (ing.status?.loadBalancer?.ingress ?? []).map((a) => a.ip ?? a.hostname ?? '').sort();
}

/** serviceAddresses reads a Service's load-balancer addresses. */
export async function serviceAddresses(lab: Lab, namespace: string, name: string): Promise<string[]> {
  const svc = await lab.api.core.readNamespacedService({ name, namespace });
  return (svc.status?.loadBalancer?.ingress ?? []).map((a) => a.ip ?? a.hostname ?? '').sort();
}

/** ingressLogs returns the last lines of every ingress pod's log (`kubectl logs`), for failure messages. */
export async function ingressLogs(lab: Lab, lines = 30): Promise<string> {
  const out: string[] = [];
  for (const p of await ingressPods(lab).catch(() => [])) {
    const text = await lab
      .kubectl(['logs', '-n', p.namespace, p.name, '-c', 'ingress', `--tail=${lines}`])
      .catch((e: unknown) => String(e));
    out.push(`--- ${p.name} on ${p.nodeName}\n${text.trimEnd()}`);
  }
  return out.join('\n');
}
