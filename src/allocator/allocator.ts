// The allocator: which addresses each LoadBalancer Service holds. Pure and in memory; the Service status is
// the state of record, so the controller restores what status says before it assigns anything new.
import { familyLabel, formatAddress, tryParseAddress, type Address } from '../address/address.ts';
import type { Config, IPFamily, Pool } from '../config/model.ts';
import { anySelectorMatches } from '../config/selector.ts';
import type { ServicePort, ServiceView } from '../service/view.ts';
import { AllocationError, type AllocationErrorCode } from './errors.ts';
import { PoolSpace } from './space.ts';

/** AssignmentSource says which step of the allocation order gave the Service its addresses. */
export type AssignmentSource = 'kept' | 'requested' | 'annotation' | 'serviceAllocation' | 'autoAssign';

/**
 * Assignment is the outcome of a successful assign: the pool and addresses (canonical text; kept addresses in
 * their status order, new ones in the Service's ipFamilies order), which step chose them, whether they differ
 * from status (the controller writes status only then), and, when the status addresses were given up, why.
 */
export interface Assignment {
  key: string;
  pool: string;
  ips: string[];
  source: AssignmentSource;
  changed: boolean;
  dropped?: { ips: string[]; reason: string };
}

/**
 * PoolStatus is what IPAddressPool status and metrics show. A shared address counts once; avoided addresses
 * are not available. bigint, since an IPv6 pool can hold 2^64 addresses or more.
 */
export interface PoolStatus {
  assignedIPv4: bigint;
  assignedIPv6: bigint;
  availableIPv4: bigint;
  availableIPv6: bigint;
  capacityIPv4: bigint;
  capacityIPv6: bigint;
}

interface Addr {
  family: IPFamily;
  value: bigint;
  text: string;
  key: string;
}

interface Holder {
  key: string;
  pool: string;
  addrs: Addr[];
  ports: ServicePort[];
  sharingKey: string;
  backendKey: string;
}

interface Use {
  addr: Addr;
  space: PoolSpace;
  offset: bigint;
  users: Set<string>;
  /** ports maps "TCP/80" to the Service using it on this address. */
  ports: Map<string, string>;
  sharingKey: string;
  backendKey: string;
}

interface PoolEntry {
  pool: Pool;
  spaces: Partial<Record<IPFamily, PoolSpace>>;
}

interface Span {
  first: bigint;
  last: bigint;
  entry: PoolEntry;
}

interface Choice {
  pool: string;
  addrs: Addr[];
}

interface Decision {
  choice: Choice;
  source: AssignmentSource;
  dropped?: { ips: string[]; reason: string };
}

interface Families {
  families: IPFamily[];
  policy: ServiceView['ipFamilyPolicy'];
}

const addrKey = (family: IPFamily, value: bigint) => `${family === 'ipv4' ? '4' : '6'}:${value.toString(16)}`;
const portKey = (p: ServicePort) => `${p.protocol}/${p.port}`;
const quoteList = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function makeAddr(a: Address): Addr {
  return {
    family: a.family,
    value: a.value,
    text: formatAddress(a.family, a.value),
    key: addrKey(a.family, a.value),
  };
}

function familiesOf(view: ServiceView): Families {
  const fams = view.ipFamilies.length > 0 ? view.ipFamilies : (['ipv4'] as IPFamily[]);
  if (view.ipFamilyPolicy === 'SingleStack' || fams.length < 2) {
    return { families: [fams[0] as IPFamily], policy: view.ipFamilyPolicy };
  }
  return { families: [fams[0] as IPFamily, fams[1] as IPFamily], policy: view.ipFamilyPolicy };
}

function familiesText(f: Families): string {
  return f.families.map(familyLabel).join(', ');
}

/**
 * poolRefusal returns why a pool's serviceAllocation refuses a Service, or undefined when it allows it (a pool
 * without serviceAllocation allows every Service). Namespaces: the Service's namespace must be listed or its
 * labels must match a namespaceSelector (when either is given). Services: its labels must match one of the
 * serviceSelectors (when given).
 */
export function poolRefusal(
  pool: Pool,
  view: Pick<ServiceView, 'namespace' | 'labels'>,
  options: { namespaceLabels: Readonly<Record<string, string>> },
): string | undefined {
  const { namespaceLabels } = options;
  const sa = pool.serviceAllocation;
  if (!sa) return undefined;
  if (sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0) {
    const listed = sa.namespaces.includes(view.namespace);
    const selected =
      sa.namespaceSelectors.length > 0 && anySelectorMatches(sa.namespaceSelectors, namespaceLabels);
    if (!listed && !selected) return `namespace "${view.namespace}" is not in its serviceAllocation`;
  }
  if (sa.serviceSelectors.length > 0 && !anySelectorMatches(sa.serviceSelectors, view.labels)) {
    return `the service's labels match none of its serviceSelectors`;
  }
  return undefined;
}

// Lower priority number first; 0 (unset) after every set priority; then by name.
function byPriority(a: PoolEntry, b: PoolEntry): number {
  const pa = a.pool.serviceAllocation?.priority ?? 0;
  const pb = b.pool.serviceAllocation?.priority ?? 0;
  if (pa !== pb) {
    if (pa === 0) return 1;
    if (pb === 0) return -1;
    return pa - pb;
  }
  return cmp(a.pool.name, b.pool.name);
}

/**
 * Allocator decides which addresses each LoadBalancer Service holds, MetalLB's way (REFERENCE §1):
 * keep status addresses while still valid → requested IPs → the metallb.io/address-pool pool (even with
 * autoAssign off) → pools whose serviceAllocation matches, by priority → other autoAssign pools (by name).
 * Inside a pool: the lowest free address in spec order. Two Services share an address only with the same
 * non-empty sharing key, no common (protocol, port), and the same backend key. Dual-stack Services get both
 * families from the same pool.
 *
 * Guarantees: no address is held by two Services unless the sharing rules allow it; every held address lies
 * in a pool (and is not .0/.255 in an avoidBuggyIPs pool); no avoided address is handed out; outcomes do not
 * depend on map iteration order or on the order of restore calls.
 *
 * Cost of assign: O(P · (log k + s)) for P pools considered, k addresses in use in a pool and s addresses
 * carrying the Service's sharing key, plus one array shift of up to k slots per address taken or freed.
 * It does not depend on pool size: a /8 or an IPv6 /64 costs what a /24 costs.
 */
export class Allocator {
  #entries = new Map<string, PoolEntry>();
  #spans: Record<IPFamily, Span[]> = { ipv4: [], ipv6: [] };
  #holders = new Map<string, Holder>();
  #uses = new Map<string, Use>();
  #bySharingKey = new Map<string, Set<string>>();
  #avoided = new Map<string, { addr: Addr; reason: string }>();
  #pending = new Map<string, ServiceView>();

  /** constructor: an allocator with the given pools (none when omitted). */
  constructor(config?: Config) {
    if (config) this.setConfig(config);
  }

  /**
   * setConfig installs a new configuration. Holdings whose addresses are all still in one pool move to that
   * pool (even if its serviceAllocation no longer allows the Service: the next assign decides that); the
   * others are released. Returns the keys of the Services that lost their addresses, sorted. O(H + R log R).
   */
  setConfig(config: Config): string[] {
    this.#flush();
    this.#entries = new Map();
    this.#spans = { ipv4: [], ipv6: [] };
    for (const pool of [...config.pools.values()].sort((a, b) => cmp(a.name, b.name))) {
      const entry: PoolEntry = { pool, spaces: {} };
      for (const family of ['ipv4', 'ipv6'] as const) {
        if (pool.ranges.some((r) => r.family === family)) entry.spaces[family] = new PoolSpace(pool, family);
      }
      for (const r of pool.ranges) this.#spans[r.family].push({ first: r.first, last: r.last, entry });
      this.#entries.set(pool.name, entry);
    }
    for (const family of ['ipv4', 'ipv6'] as const) {
      this.#spans[family].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    }
    for (const { addr } of this.#avoided.values()) {
      const at = this.#locate(addr);
      if (at) at.space.taken.add(at.offset);
    }
    const holders = [...this.#holders.values()].sort((a, b) => cmp(a.key, b.key));
    this.#holders.clear();
    this.#uses.clear();
    this.#bySharingKey.clear();
    const lost: string[] = [];
    for (const h of holders) {
      const pool = this.#commonPool(h.addrs);
      if (pool === undefined) {
        lost.push(h.key);
        continue;
      }
      this.#attach({ ...h, pool });
    }
    return lost;
  }

  /**
   * restore records a Service whose status already holds addresses. Restores are applied lazily, oldest
   * Service first (creationTimestamp, then key), before the next other call, so the order of restore calls
   * never changes the outcome and an older Service keeps a contested address. A restored address must lie in
   * a pool, not be avoided, and be shareable with what is already held; otherwise it is not taken and the
   * Service's next assign picks again. Call restore for every Service with status before assigning any.
   */
  restore(view: ServiceView): void {
    if (view.ingressIPs.length > 0) this.#pending.set(view.key, view);
  }

  /**
   * assign returns the Service's addresses per the allocation order, taking them from the pools. Throws an
   * AllocationError (with a stable code and a message saying why) when it cannot; the Service then holds
   * nothing, except for code "invalidService", where its holding is left as it was. When status addresses
   * were given up on the way, the Assignment's (or the error's) `dropped` says which and why. Cost: see the
   * class.
   */
  assign(view: ServiceView, namespaceLabels: Readonly<Record<string, string>> = {}): Assignment {
    this.#flush();
    if (view.problems.length > 0) {
      throw new AllocationError('invalidService', { serviceKey: view.key, detail: view.problems.join('; ') });
    }
    const old = this.#holders.get(view.key);
    if (old) this.#detach(old);
    if (this.#entries.size === 0) {
      throw new AllocationError('noPools', {
        serviceKey: view.key,
        detail: 'no available IPs: no IPAddressPool is configured',
      });
    }
    const fams = familiesOf(view);
    const note: { dropped?: { ips: string[]; reason: string } } = {};
    let decided: Decision;
    try {
      decided = this.#decide(view, namespaceLabels, fams, old, note);
    } catch (e) {
      if (e instanceof AllocationError && note.dropped) e.dropped = note.dropped;
      throw e;
    }
    const { choice, source, dropped } = decided;
    const holder: Holder = {
      key: view.key,
      pool: choice.pool,
      addrs: choice.addrs,
      ports: view.ports,
      sharingKey: view.sharingKey,
      backendKey: view.backendKey,
    };
    this.#attach(holder);
    const ips = choice.addrs.map((a) => a.text);
    const result: Assignment = {
      key: view.key,
      pool: choice.pool,
      ips,
      source,
      changed: ips.length !== view.ingressIPs.length || ips.some((ip, i) => ip !== view.ingressIPs[i]),
    };
    if (dropped) result.dropped = dropped;
    return result;
  }

  /** release frees whatever the Service holds; returns false when it held nothing. O(log k) per address. */
  release(key: string): boolean {
    this.#pending.delete(key);
    this.#flush();
    const h = this.#holders.get(key);
    if (!h) return false;
    this.#detach(h);
    return true;
  }

  /** allocationOf returns the pool and addresses a Service holds, or undefined. */
  allocationOf(key: string): { pool: string; ips: string[] } | undefined {
    this.#flush();
    const h = this.#holders.get(key);
    return h ? { pool: h.pool, ips: h.addrs.map((a) => a.text) } : undefined;
  }

  /**
   * poolOf returns the pool an address belongs to, or undefined (also for .0/.255 in an avoidBuggyIPs pool,
   * which the pool never hands out). O(log R) for R ranges.
   */
  poolOf(ip: string): string | undefined {
    const a = tryParseAddress(ip);
    if (!a) return undefined;
    return this.#locate(makeAddr(a))?.space.pool;
  }

  /** holdersOf returns the keys of the Services holding an address, sorted. */
  holdersOf(ip: string): string[] {
    this.#flush();
    const a = tryParseAddress(ip);
    const use = a ? this.#uses.get(addrKey(a.family, a.value)) : undefined;
    return use ? [...use.users].sort(cmp) : [];
  }

  /** poolStatus returns the counters of a pool, or undefined for an unknown pool. O(1). */
  poolStatus(name: string): PoolStatus | undefined {
    this.#flush();
    const e = this.#entries.get(name);
    if (!e) return undefined;
    const v4 = e.spaces.ipv4;
    const v6 = e.spaces.ipv6;
    return {
      assignedIPv4: v4?.used ?? 0n,
      assignedIPv6: v6?.used ?? 0n,
      availableIPv4: v4 ? v4.capacity - BigInt(v4.taken.size) : 0n,
      availableIPv6: v6 ? v6.capacity - BigInt(v6.taken.size) : 0n,
      capacityIPv4: v4?.capacity ?? 0n,
      capacityIPv6: v6?.capacity ?? 0n,
    };
  }

  /** poolNames returns the configured pool names, sorted. */
  poolNames(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * avoid marks an address as not to be handed out (address-conflict detection found another host on it),
   * across configuration changes, until unavoid. Holders keep it until their next assign, which moves them;
   * avoid returns their keys (sorted) so the caller can requeue them. Throws a TypeError for a bad address.
   */
  avoid(ip: string, reason: string): string[] {
    this.#flush();
    const a = tryParseAddress(ip);
    if (!a) throw new TypeError(`"${ip}" is not a valid IP address`);
    const addr = makeAddr(a);
    this.#avoided.set(addr.key, { addr, reason });
    const at = this.#locate(addr);
    if (at) at.space.taken.add(at.offset);
    return this.holdersOf(addr.text);
  }

  /** unavoid makes an avoided address available again; returns false when it was not avoided. */
  unavoid(ip: string): boolean {
    this.#flush();
    const a = tryParseAddress(ip);
    if (!a) return false;
    const addr = makeAddr(a);
    if (!this.#avoided.delete(addr.key)) return false;
    const at = this.#locate(addr);
    if (at && !this.#uses.has(addr.key)) at.space.taken.delete(at.offset);
    return true;
  }

  /** avoidedAddresses lists the avoided addresses and why, sorted by address text. */
  avoidedAddresses(): Array<{ ip: string; reason: string }> {
    return [...this.#avoided.values()]
      .map((v) => ({ ip: v.addr.text, reason: v.reason }))
      .sort((a, b) => cmp(a.ip, b.ip));
  }

  // ---- internals ----

  #locate(addr: Addr): { space: PoolSpace; offset: bigint } | undefined {
    const spans = this.#spans[addr.family];
    let lo = 0;
    let hi = spans.length - 1;
    let found: Span | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = spans[mid] as Span;
      if (s.first <= addr.value) {
        found = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (!found || addr.value > found.last) return undefined;
    const space = found.entry.spaces[addr.family];
    const offset = space?.offsetOf(addr.value);
    if (!space || offset === undefined) return undefined;
    return { space, offset };
  }

  #commonPool(addrs: readonly Addr[]): string | undefined {
    let pool: string | undefined;
    for (const a of addrs) {
      const at = this.#locate(a);
      if (!at || (pool !== undefined && pool !== at.space.pool)) return undefined;
      pool = at.space.pool;
    }
    return pool;
  }

  #flush(): void {
    if (this.#pending.size === 0) return;
    const views = [...this.#pending.values()].sort((a, b) => {
      const ca = a.creationTimestamp ?? '\uffff';
      const cb = b.creationTimestamp ?? '\uffff';
      return ca !== cb ? cmp(ca, cb) : cmp(a.key, b.key);
    });
    this.#pending.clear();
    for (const view of views) {
      if (this.#holders.has(view.key)) continue;
      const addrs = this.#parseAll(view.ingressIPs);
      if (!addrs || addrs.length > 2 || (addrs.length === 2 && addrs[0]?.family === addrs[1]?.family))
        continue;
      const pool = this.#commonPool(addrs);
      if (pool === undefined) continue;
      if (addrs.some((a) => this.#avoided.has(a.key) || this.#sharingRefusal(a, view) !== undefined))
        continue;
      this.#attach({
        key: view.key,
        pool,
        addrs,
        ports: view.ports,
        sharingKey: view.sharingKey,
        backendKey: view.backendKey,
      });
    }
  }

  #parseAll(texts: readonly string[]): Addr[] | undefined {
    const out: Addr[] = [];
    for (const t of texts) {
      const a = tryParseAddress(t);
      if (!a) return undefined;
      out.push(makeAddr(a));
    }
    return out;
  }

  #attach(h: Holder): void {
    for (const addr of h.addrs) {
      let use = this.#uses.get(addr.key);
      if (!use) {
        const at = this.#locate(addr);
        if (!at) throw new Error(`internal: address ${addr.text} of "${h.key}" is in no pool`);
        use = {
          addr,
          space: at.space,
          offset: at.offset,
          users: new Set(),
          ports: new Map(),
          sharingKey: h.sharingKey,
          backendKey: h.backendKey,
        };
        this.#uses.set(addr.key, use);
        at.space.taken.add(at.offset);
        at.space.used += 1n;
      }
      use.users.add(h.key);
      use.sharingKey = h.sharingKey;
      use.backendKey = h.backendKey;
      for (const p of h.ports) use.ports.set(portKey(p), h.key);
      if (h.sharingKey !== '') {
        const set = this.#bySharingKey.get(h.sharingKey) ?? new Set<string>();
        set.add(addr.key);
        this.#bySharingKey.set(h.sharingKey, set);
      }
    }
    this.#holders.set(h.key, h);
  }

  #detach(h: Holder): void {
    this.#holders.delete(h.key);
    for (const addr of h.addrs) {
      const use = this.#uses.get(addr.key);
      if (!use) continue;
      use.users.delete(h.key);
      for (const [pk, owner] of use.ports) if (owner === h.key) use.ports.delete(pk);
      if (use.users.size > 0) continue;
      this.#uses.delete(addr.key);
      use.space.used -= 1n;
      if (!this.#avoided.has(addr.key)) use.space.taken.delete(use.offset);
      const set = this.#bySharingKey.get(use.sharingKey);
      if (set) {
        set.delete(addr.key);
        if (set.size === 0) this.#bySharingKey.delete(use.sharingKey);
      }
    }
  }

  // Why the Service may not use this address alongside its current users; undefined when it may.
  #sharingRefusal(addr: Addr, view: ServiceView): string | undefined {
    const use = this.#uses.get(addr.key);
    if (!use) return undefined;
    const others = [...use.users].filter((u) => u !== view.key).sort(cmp);
    if (others.length === 0) return undefined;
    const by = quoteList(others);
    if (use.sharingKey === '')
      return `address "${addr.text}" is in use by ${by}, which does not allow sharing`;
    if (view.sharingKey === '') {
      return `address "${addr.text}" is in use by ${by} and this service sets no metallb.io/allow-shared-ip`;
    }
    if (use.sharingKey !== view.sharingKey) {
      return `address "${addr.text}" is in use by ${by} with sharing key "${use.sharingKey}", not "${view.sharingKey}"`;
    }
    if (use.backendKey !== view.backendKey) {
      return (
        `address "${addr.text}" is shared by ${by} with different backends ` +
        '(with externalTrafficPolicy Local the selectors must be equal)'
      );
    }
    for (const p of view.ports) {
      const owner = use.ports.get(portKey(p));
      if (owner !== undefined && owner !== view.key) {
        return `address "${addr.text}" is shared by ${by} but port ${portKey(p)} is already used by "${owner}"`;
      }
    }
    return undefined;
  }

  // Lowest usable address of a space for this Service: a free one or one it may share, whichever comes first.
  #candidate(space: PoolSpace | undefined, view: ServiceView): Addr | undefined {
    if (!space) return undefined;
    let best = space.lowestFree();
    if (view.sharingKey !== '') {
      for (const k of this.#bySharingKey.get(view.sharingKey) ?? []) {
        const use = this.#uses.get(k);
        if (!use || use.space !== space || this.#avoided.has(k)) continue;
        if (best !== undefined && use.offset >= best) continue;
        if (this.#sharingRefusal(use.addr, view) === undefined) best = use.offset;
      }
    }
    if (best === undefined) return undefined;
    return makeAddr({ family: space.family, value: space.valueAt(best) });
  }

  // MetalLB's findBestPoolForService: the first pool with every family needed; for PreferDualStack, failing
  // that, the first pool with the primary family, then the first with the secondary.
  #pick(
    entries: readonly PoolEntry[],
    view: ServiceView,
    fams: Families,
    notes: string[],
  ): Choice | undefined {
    const [primary, secondary] = fams.families as [IPFamily, IPFamily | undefined];
    let firstPrimary: Choice | undefined;
    let firstSecondary: Choice | undefined;
    for (const e of entries) {
      const a = this.#candidate(e.spaces[primary], view);
      if (secondary === undefined) {
        if (a) return { pool: e.pool.name, addrs: [a] };
        notes.push(this.#emptyNote(e, primary));
        continue;
      }
      const b = this.#candidate(e.spaces[secondary], view);
      if (a && b) return { pool: e.pool.name, addrs: [a, b] };
      if (fams.policy === 'PreferDualStack') {
        if (a && !firstPrimary) firstPrimary = { pool: e.pool.name, addrs: [a] };
        if (b && !firstSecondary) firstSecondary = { pool: e.pool.name, addrs: [b] };
      }
      notes.push(this.#emptyNote(e, a ? secondary : primary));
    }
    return firstPrimary ?? firstSecondary;
  }

  #emptyNote(e: PoolEntry, family: IPFamily): string {
    if (!e.spaces[family]) return `pool "${e.pool.name}" has no ${familyLabel(family)} addresses`;
    return `pool "${e.pool.name}" has no free ${familyLabel(family)} address`;
  }

  #fail(code: AllocationErrorCode, view: ServiceView, detail: string): never {
    throw new AllocationError(code, { serviceKey: view.key, detail });
  }

  #decide(
    view: ServiceView,
    ns: Readonly<Record<string, string>>,
    fams: Families,
    old: Holder | undefined,
    note: { dropped?: { ips: string[]; reason: string } },
  ): Decision {
    // 1. Keep what status says (or, before status is written, what we hold) while it is still valid.
    const keep = view.ingressIPs.length > 0 ? view.ingressIPs : (old?.addrs.map((a) => a.text) ?? []);
    let dropped: { ips: string[]; reason: string } | undefined;
    if (keep.length > 0) {
      const kept = this.#checkKeep(view, ns, fams, keep);
      if ('choice' in kept) {
        const choice = kept.choice;
        if (fams.policy === 'PreferDualStack' && fams.families.length === 2 && choice.addrs.length === 1) {
          const missing = fams.families.find((f) => f !== choice.addrs[0]?.family) as IPFamily;
          const extra = this.#candidate(this.#entries.get(choice.pool)?.spaces[missing], view);
          if (extra) choice.addrs.push(extra);
        }
        return { choice, source: 'kept' };
      }
      dropped = { ips: [...keep], reason: kept.reason };
      note.dropped = dropped;
    }
    const withDropped = <T extends object>(r: T) => (dropped ? { ...r, dropped } : r);

    // 2. Requested IPs.
    if (view.requestedIPs.length > 0) {
      return withDropped({ choice: this.#requested(view, ns, fams), source: 'requested' as const });
    }

    // 3. The pool named by metallb.io/address-pool, autoAssign or not.
    if (view.requestedPool !== undefined) {
      const e = this.#entries.get(view.requestedPool);
      if (!e)
        this.#fail(
          'poolNotFound',
          view,
          `pool "${view.requestedPool}" named by metallb.io/address-pool does not exist`,
        );
      const refusal = poolRefusal(e.pool, view, { namespaceLabels: ns });
      if (refusal)
        this.#fail('poolNotAllowed', view, `pool "${e.pool.name}" does not allow this service: ${refusal}`);
      const notes: string[] = [];
      const choice = this.#pick([e], view, fams, notes);
      if (!choice)
        this.#fail('poolExhausted', view, `no available IPs in pool "${e.pool.name}": ${notes.join('; ')}`);
      return withDropped({ choice, source: 'annotation' as const });
    }

    // 4. Pools whose serviceAllocation matches, by priority; 5. the other autoAssign pools.
    const matched: PoolEntry[] = [];
    const others: PoolEntry[] = [];
    const refused: string[] = [];
    for (const e of this.#entries.values()) {
      if (!e.pool.autoAssign) {
        refused.push(`pool "${e.pool.name}": autoAssign is false`);
        continue;
      }
      if (!e.pool.serviceAllocation) {
        others.push(e);
        continue;
      }
      const refusal = poolRefusal(e.pool, view, { namespaceLabels: ns });
      if (refusal) refused.push(`pool "${e.pool.name}": ${refusal}`);
      else matched.push(e);
    }
    matched.sort(byPriority);
    const notes: string[] = [];
    const fromMatched = this.#pick(matched, view, fams, notes);
    if (fromMatched) return withDropped({ choice: fromMatched, source: 'serviceAllocation' as const });
    const fromOthers = this.#pick(others, view, fams, notes);
    if (fromOthers) return withDropped({ choice: fromOthers, source: 'autoAssign' as const });
    if (matched.length + others.length === 0) {
      this.#fail(
        'noPoolMatches',
        view,
        `no available IPs: no IPAddressPool may serve this service (${refused.join('; ')})`,
      );
    }
    this.#fail('poolExhausted', view, `no available IPs for ${familiesText(fams)}: ${notes.join('; ')}`);
  }

  #checkKeep(
    view: ServiceView,
    ns: Readonly<Record<string, string>>,
    fams: Families,
    texts: readonly string[],
  ): { choice: Choice } | { reason: string } {
    const addrs = this.#parseAll(texts);
    if (!addrs) return { reason: `status holds an invalid address (${quoteList(texts)})` };
    const families = addrs.map((a) => a.family);
    const distinct = new Set(families).size === families.length && addrs.length <= 2;
    const fits =
      fams.families.length === 1
        ? addrs.length === 1 && families[0] === fams.families[0]
        : fams.policy === 'RequireDualStack'
          ? addrs.length === 2
          : addrs.length >= 1;
    if (!distinct || !fits) {
      return {
        reason: `addresses ${quoteList(texts)} do not fit the service's IP families (${familiesText(fams)})`,
      };
    }
    if (view.requestedIPs.length > 0) {
      const want = new Set(view.requestedIPs);
      if (addrs.length !== want.size || addrs.some((a) => !want.has(a.text))) {
        return { reason: `the service now requests ${quoteList(view.requestedIPs)}` };
      }
    }
    for (const a of addrs) {
      if (!this.#locate(a)) return { reason: `address "${a.text}" is no longer in any IPAddressPool` };
    }
    const pool = this.#commonPool(addrs);
    if (pool === undefined) return { reason: `addresses ${quoteList(texts)} are in different pools` };
    if (view.requestedPool !== undefined && view.requestedPool !== pool) {
      return { reason: `metallb.io/address-pool asks for pool "${view.requestedPool}", not "${pool}"` };
    }
    const entry = this.#entries.get(pool) as PoolEntry;
    const refusal = poolRefusal(entry.pool, view, { namespaceLabels: ns });
    if (refusal) return { reason: `pool "${pool}" no longer allows this service: ${refusal}` };
    for (const a of addrs) {
      const avoided = this.#avoided.get(a.key);
      if (avoided) return { reason: `address "${a.text}" is avoided: ${avoided.reason}` };
      const sharing = this.#sharingRefusal(a, view);
      if (sharing) return { reason: sharing };
    }
    return { choice: { pool, addrs } };
  }

  #requested(view: ServiceView, ns: Readonly<Record<string, string>>, fams: Families): Choice {
    const addrs = this.#parseAll(view.requestedIPs);
    if (!addrs)
      this.#fail('invalidService', view, `requested IPs ${quoteList(view.requestedIPs)} are invalid`);
    const families = addrs.map((a) => a.family);
    const want = [...fams.families].sort();
    if (families.length !== want.length || [...families].sort().some((f, i) => f !== want[i])) {
      this.#fail(
        'familyMismatch',
        view,
        `requested IPs ${quoteList(view.requestedIPs)} do not match the service's IP families (${familiesText(fams)})`,
      );
    }
    let pool: string | undefined;
    for (const a of addrs) {
      const at = this.#locate(a);
      if (!at) {
        const inBuggy = this.#spans[a.family].some((s) => s.first <= a.value && a.value <= s.last);
        const why = inBuggy
          ? `requested IP "${a.text}" ends in .0 or .255 and its pool sets avoidBuggyIPs`
          : `requested IP "${a.text}" is not in any IPAddressPool`;
        this.#fail('requestedIPNotInPool', view, why);
      }
      if (pool !== undefined && pool !== at.space.pool) {
        this.#fail(
          'requestedIPNotInPool',
          view,
          `requested IPs ${quoteList(view.requestedIPs)} are in different pools`,
        );
      }
      pool = at.space.pool;
    }
    const p = pool as string;
    if (view.requestedPool !== undefined && view.requestedPool !== p) {
      this.#fail(
        'requestedPoolConflict',
        view,
        `requested IPs ${quoteList(view.requestedIPs)} are in pool "${p}", not in pool "${view.requestedPool}" named by metallb.io/address-pool`,
      );
    }
    const refusal = poolRefusal((this.#entries.get(p) as PoolEntry).pool, view, { namespaceLabels: ns });
    if (refusal)
      this.#fail(
        'poolNotAllowed',
        view,
        `pool "${p}" of the requested IPs does not allow this service: ${refusal}`,
      );
    for (const a of addrs) {
      const avoided = this.#avoided.get(a.key);
      if (avoided)
        this.#fail('addressAvoided', view, `requested IP "${a.text}" is avoided: ${avoided.reason}`);
      const sharing = this.#sharingRefusal(a, view);
      if (sharing) this.#fail('addressInUse', view, `requested IP ${sharing.slice('address '.length)}`);
    }
    return { pool: p, addrs };
  }
}
