// Helpers for BGP end-to-end tests and the BGP benchmark: read the lab router's BGP table (FRR vtysh JSON) and
// kernel routes, find gobgpd on a node, pull a node's cable, and wait for routes with a fine-grained poll.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../../harness/netlab.ts';
import { run, waitFor } from '../../harness/exec.ts';

/** FrrPath is one path of `show bgp ipv4 unicast <prefix> json`, reduced to what the tests read. */
export interface FrrPath {
  valid?: boolean;
  multipath?: boolean;
  locPrf?: number;
  community?: { string?: string };
  largeCommunity?: { string?: string };
  nexthops?: { ip?: string }[];
  peer?: { peerId?: string; type?: string };
}

/** frrPaths returns the router's paths for a prefix (empty when it has none). */
export async function frrPaths(lab: Lab, prefix: string): Promise<FrrPath[]> {
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const out = await lab.vtysh(`show bgp ${family} unicast ${prefix} json`);
  return ((JSON.parse(out || '{}') as { paths?: FrrPath[] }).paths ?? []).filter((p) => p.valid !== false);
}

/** frrPrefixes lists every prefix in the router's BGP table of a family. */
export async function frrPrefixes(lab: Lab, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<string[]> {
  const out = await lab.vtysh(`show bgp ${family} unicast json`);
  return Object.keys((JSON.parse(out || '{}') as { routes?: Record<string, unknown> }).routes ?? {});
}

/** sessionStates maps each router neighbour to its BGP state ("Established", "Active", ...). */
export async function sessionStates(lab: Lab): Promise<Record<string, string>> {
  const out = JSON.parse(await lab.vtysh('show bgp ipv4 unicast summary json')) as {
    peers?: Record<string, { state?: string }>;
  };
  return Object.fromEntries(Object.entries(out.peers ?? {}).map(([k, v]) => [k, v.state ?? '']));
}

/** bfdStates maps each router BFD peer to its status ("up", "down", "init"). */
export async function bfdStates(lab: Lab): Promise<Record<string, string>> {
  const out = JSON.parse(await lab.vtysh('show bfd peers json')) as { peer: string; status: string }[];
  return Object.fromEntries(out.map((p) => [p.peer, p.status]));
}

/**
 * kernelNexthops returns the gateways of the router's kernel route for a prefix (sorted; empty when there is
 * no route). Synchronous and cheap (one `ip -j route`), so it can be polled every few milliseconds.
 */
export function kernelNexthops(lab: Lab, prefix: string): string[] {
  const argv = [
    'ip',
    '-n',
    lab.ns('router'),
    '-j',
    prefix.includes(':') ? '-6' : '-4',
    'route',
    'show',
    prefix,
  ];
  const out = run(argv, { check: false }).stdout.trim();
  const routes = JSON.parse(out || '[]') as { gateway?: string; nexthops?: { gateway?: string }[] }[];
  return routes
    .flatMap((r) => (r.nexthops ? r.nexthops.map((n) => n.gateway ?? '') : [r.gateway ?? '']))
    .filter(Boolean)
    .sort();
}

/**
 * waitNexthops polls the router's kernel route until its gateways equal `want` (sorted), every `intervalMs`,
 * and returns the milliseconds it took from `since` (default: now).
 */
export async function waitNexthops(
  lab: Lab,
  prefix: string,
  want: readonly string[],
  options: { timeoutMs?: number; intervalMs?: number; since?: number } = {},
): Promise<number> {
  const since = options.since ?? performance.now();
  const target = [...want].sort().join(',');
  const deadline = since + (options.timeoutMs ?? 30_000);
  let last = '';
  while (performance.now() < deadline) {
    last = kernelNexthops(lab, prefix).join(',');
    if (last === target) return performance.now() - since;
    await sleep(options.intervalMs ?? 20);
  }
  throw new Error(`Timed out waiting for ${prefix} via [${target}] at the router; last [${last}]`);
}

/** pidsIn returns the pids of processes named `comm` inside a lab namespace. */
export function pidsIn(lab: Lab, role: string, comm: string): number[] {
  return run(['ip', 'netns', 'pids', lab.ns(role)], { check: false })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        return run(['cat', `/proc/${pid}/comm`], { check: false }).stdout.trim() === comm;
      } catch {
        return false;
      }
    });
}

/** setCable plugs (up) or pulls (down) node i's cable: its port on the LAN bridge. */
export function setCable(lab: Lab, i: number, up: boolean): void {
  run(['ip', '-n', lab.ns('lan'), 'link', 'set', `n${i}`, up ? 'up' : 'down']);
}

/** waitEstablished waits until the router's sessions with the given node addresses are Established. */
export async function waitEstablished(
  lab: Lab,
  addresses: readonly string[],
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    `BGP sessions Established with ${addresses.join(', ')}`,
    async () => {
      const states = await sessionStates(lab);
      return addresses.every((a) => states[a] === 'Established');
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** vtyshConfig runs configuration commands on the router (`configure terminal` first). */
export async function vtyshConfig(lab: Lab, commands: readonly string[]): Promise<void> {
  await lab.exec('router', [
    'vtysh',
    '--vty_socket',
    lab.frrDir,
    '-c',
    'configure terminal',
    ...commands.flatMap((c) => ['-c', c]),
  ]);
}

/** serviceAddress waits for a Service's first ingress address. */
export async function serviceAddress(
  lab: Lab,
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<string> {
  return waitFor(
    `an address for Service "${namespace}/${name}"`,
    async () =>
      (await lab.api.core.readNamespacedService({ name, namespace })).status?.loadBalancer?.ingress?.[0]?.ip,
    { timeoutMs, intervalMs: 50 },
  );
}
