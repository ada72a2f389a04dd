// Allocator benchmark: assignments per second from an IPv4 /16 and from an IPv6 /64, and their ratio, plus a
// same-family pair each (/8 against /16, /64 against /112). The cost of one assignment must not depend on
// pool size, so the same-family ratios should be close to 1 although the larger pools are 256 and 2^48 times
// larger. Run: node bench/allocator.bench.ts [assignments]
import { Allocator } from '../src/allocator/allocator.ts';
import { configOf, svc } from '../test/support/allocator-testkit.ts';
import type { ServiceView } from '../src/service/view.ts';

const count = Number(process.argv[2] ?? 20_000);
const rounds = 5;

function views(family: 'IPv4' | 'IPv6'): ServiceView[] {
  return Array.from({ length: count }, (_, i) => svc(`s${i}`, { families: [family] }));
}

// One round assigns the Services into an empty pool, then frees every other one and assigns those again (the
// gaps exercise the lowest-free search away from the end). Returns assignments per second.
function round(cidr: string, vs: readonly ServiceView[]): number {
  const a = new Allocator(configOf({ bench: { addresses: [cidr] } }));
  const start = process.cpuUsage();
  for (const v of vs) a.assign(v);
  for (let i = 0; i < vs.length; i += 2) a.release((vs[i] as ServiceView).key);
  for (let i = 0; i < vs.length; i += 2) a.assign(vs[i] as ServiceView);
  const used = process.cpuUsage(start);
  return (vs.length * 1.5) / ((used.user + used.system) / 1e6);
}

const v4 = views('IPv4');
const v6 = views('IPv6');
round('10.0.0.0/16', v4.slice(0, 2000)); // warm up the JIT
round('2001:db8::/64', v6.slice(0, 2000));

const pools = [
  { label: 'IPv4 /16  (65,536 addresses)', cidr: '10.0.0.0/16', vs: v4 },
  { label: 'IPv4 /8   (16,777,216 addresses)', cidr: '10.0.0.0/8', vs: v4 },
  { label: 'IPv6 /112 (65,536 addresses)', cidr: '2001:db8::/112', vs: v6 },
  { label: 'IPv6 /64  (18,446,744,073,709,551,616 addresses)', cidr: '2001:db8::/64', vs: v6 },
] as const;
// CPU time, not wall time: other processes on the machine do not count against us. Rounds alternate between
// the pools and the best of each is kept, so what load remains biases no pool.
const best = pools.map(() => 0);
for (let r = 0; r < rounds; r++) {
  pools.forEach((p, i) => {
    best[i] = Math.max(best[i] ?? 0, round(p.cidr, p.vs));
  });
}
const [v4small = 0, v4big = 0, v6small = 0, v6big = 0] = best;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `${fmt(count * 1.5)} assignments per round (${fmt(count)} assigned, half released and reassigned), best of ${rounds}`,
);
pools.forEach((p, i) => console.log(`${p.label.padEnd(52)} ${fmt(best[i] ?? 0).padStart(9)} assignments/s`));
console.log(
  `ratio /64 : /16  = ${(v6big / v4small).toFixed(2)}  (pool 2^48 times larger; IPv6 also pays for 128-bit arithmetic)`,
);
console.log(
  `ratio /64 : /112 = ${(v6big / v6small).toFixed(2)}  (same family: 1.00 means the cost does not depend on pool size)`,
);
console.log(`ratio /8  : /16  = ${(v4big / v4small).toFixed(2)}  (same family)`);
