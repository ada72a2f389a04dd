// THE parse step: metallb.io objects (plain JSON as the API server returns them) → the Config model. It is the
// only code that knows CRD shapes; the controller, the speaker and the admission webhook all call it.
import {
  formatAddress,
  parseAddress,
  parseRange,
  rangesOverlap,
  rangeToCidrs,
  tryParseAddress,
} from '../address/address.ts';
import { unusableRangeReason } from '../address/usable.ts';
import { parseCommunity } from './community.ts';
import { parseGoDuration } from './duration.ts';
import type {
  AddressRange,
  BfdProfile,
  BgpAdvertisement,
  Community,
  Config,
  L2Advertisement,
  LabelSelector,
  Peer,
  Pool,
  ServiceAllocation,
} from './model.ts';
import { ObjectFault, type ConfigProblem } from './problem.ts';
import {
  isJson,
  optBool,
  optInt,
  optObject,
  optString,
  rejectDuplicates,
  selectorList,
  stringList,
  type Json,
} from './raw.ts';
import { anySelectorMatches } from './selector.ts';

/** CONFIG_KINDS lists the metallb.io kinds parseConfig reads; other kinds are ignored except Secret. */
export const CONFIG_KINDS = [
  'IPAddressPool',
  'L2Advertisement',
  'BGPAdvertisement',
  'BGPPeer',
  'Community',
  'BFDProfile',
] as const;

/** ConfigKind is one of CONFIG_KINDS. */
export type ConfigKind = (typeof CONFIG_KINDS)[number];

/** ParseOptions: `namespace` is the load balancer's namespace; password Secrets must live there when set. */
export interface ParseOptions {
  namespace?: string;
  /**
   * secretsRead: false when the caller passes no Secrets (the webhook and `ironlb why` do not): a BGPPeer's
   * passwordSecret is then neither resolved nor reported missing. The speaker passes the Secrets of the
   * namespace; the controller passes them redacted (src/config/secret.ts), which is enough to report a
   * missing Secret, a wrong type or a missing key.
   */
  secretsRead?: boolean;
  /**
   * cache: what earlier parses derived from stored objects alone (see ParseCache). Only objects with a uid and
   * a resourceVersion are looked up; the caller must pass objects as stored (an admission request's object
   * carries the stored uid and resourceVersion with a changed spec: validateObject parses it uncached).
   */
  cache?: ParseCache;
}

/**
 * ParseResult is the model built from every valid object plus one problem per rejected object. One bad object
 * never drops the others: a pool that overlaps an older pool is rejected alone, an advertisement naming a
 * missing Community is rejected alone (retryable), and so on.
 */
export interface ParseResult {
  config: Config;
  problems: ConfigProblem[];
  /**
   * warnings are dangling references of objects that are still used: an advertisement naming a pool that does
   * not exist (or was rejected) covers the pools that do, as MetalLB's does, but the user should hear of it.
   * Always retryable: creating the pool resolves it.
   */
  warnings: ConfigProblem[];
}

/** Defaults a MetalLB user relies on (REFERENCE §1). */
export const DEFAULTS = {
  peerPort: 179,
  holdTimeSeconds: 90,
  /** connectTimeSeconds: FRR and GoBGP wait 120 s between attempts; we retry sooner (see README). */
  connectTimeSeconds: 10,
  aggregationLength: 32,
  aggregationLengthV6: 128,
  bfdInterval: 300,
  bfdDetectMultiplier: 3,
  bfdEchoInterval: 50,
  bfdMinimumTtl: 254,
} as const;

interface Obj {
  kind: string;
  name: string;
  namespace?: string;
  created: string;
  labels: Record<string, string>;
  spec: Json;
  raw: Json;
  /** key: kind, uid and resourceVersion, when the object is as stored and may be looked up in a ParseCache. */
  key?: string;
}

/** LocalResult is what a ParseCache keeps of one object: a value, or the fault that rejected it. */
type LocalResult<T> = { ok: true; value: T } | { ok: false; message: string; retryable: boolean };

function runLocal<T>(fn: () => T): LocalResult<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (!(e instanceof ObjectFault)) throw e;
    return { ok: false, message: e.message, retryable: e.retryable };
  }
}

// valueOf returns a local result's value, or throws its fault again (so the parse step records it).
function valueOf<T>(r: LocalResult<T>): T {
  if (r.ok) return r.value;
  throw new ObjectFault(r.message, { retryable: r.retryable });
}

/**
 * ParseCache keeps, per stored object, what the parse step derives from that object alone: for an
 * IPAddressPool its parsed and checked ranges and fields (the costly part: address parsing), or the fault that
 * rejected it. Keyed by kind, uid and resourceVersion (the API server changes the resourceVersion with every
 * write, so a key names one spec for good). What depends on other objects (overlaps between pools, references)
 * is decided afresh on every parse. Entries the latest parse did not use are dropped, so the cache holds
 * about the stored set. One cache per caller that parses the same stored set again and again (the webhook).
 */
export class ParseCache {
  private entries = new Map<string, LocalResult<unknown>>();
  private used = new Map<string, LocalResult<unknown>>();

  /** size is the number of objects cached. */
  get size(): number {
    return this.entries.size;
  }

  /** local returns the result of fn for o, from the cache when o's key is there (o without a key: fn's). */
  local<T>(o: Obj, fn: () => T): LocalResult<T> {
    const key = o.key;
    if (key === undefined) return runLocal(fn);
    const r = (this.entries.get(key) ?? this.used.get(key) ?? runLocal(fn)) as LocalResult<T>;
    this.used.set(key, r);
    return r;
  }

  /** sweep ends one parse: what it did not use is dropped. */
  sweep(): void {
    this.entries = this.used;
    this.used = new Map();
  }
}

function readObj(raw: unknown, cacheable = false): Obj | undefined {
  if (!isJson(raw) || typeof raw.kind !== 'string') return undefined;
  const meta = isJson(raw.metadata) ? raw.metadata : {};
  const labels: Record<string, string> = {};
  if (isJson(meta.labels)) {
    for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
  }
  const o: Obj = {
    kind: raw.kind,
    name: typeof meta.name === 'string' ? meta.name : '',
    created: typeof meta.creationTimestamp === 'string' ? meta.creationTimestamp : '',
    labels,
    spec: isJson(raw.spec) ? raw.spec : {},
    raw,
  };
  if (typeof meta.namespace === 'string') o.namespace = meta.namespace;
  if (cacheable && typeof meta.uid === 'string' && typeof meta.resourceVersion === 'string')
    o.key = `${o.kind}/${meta.uid}/${meta.resourceVersion}`;
  return o;
}

// Older objects first, so when two objects conflict (overlapping pools, a duplicate community name) the one
// created later is the one rejected. Objects without a creation time (not stored yet) count as newest.
function olderFirst(a: Obj, b: Obj): number {
  const ca = a.created || '\uffff';
  const cb = b.created || '\uffff';
  if (ca !== cb) return ca < cb ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const na = a.namespace ?? '';
  const nb = b.namespace ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isJson(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function report(o: Obj, message: string, retryable: boolean): ConfigProblem {
  const p: ConfigProblem = {
    kind: o.kind,
    name: o.name,
    message: `${o.kind} "${o.name}": ${message}`,
    retryable,
  };
  if (o.namespace !== undefined) p.namespace = o.namespace;
  return p;
}

class Collector {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  /**
   * each runs fn on every object of a kind (older first), skipping duplicates and recording faults. fn may
   * call warn for a dangling reference that does not reject the object; a rejected object's warnings are
   * dropped (its problem says enough).
   */
  each<T>(objs: readonly Obj[], fn: (o: Obj, warn: (message: string) => void) => T): Array<[Obj, T]> {
    const out: Array<[Obj, T]> = [];
    const names = new Set<string>();
    for (const o of objs) {
      const warnings: string[] = [];
      try {
        if (!o.name) throw new ObjectFault('metadata.name is missing');
        if (names.has(o.name)) throw new ObjectFault(`another ${o.kind} is already named "${o.name}"`);
        names.add(o.name);
        out.push([o, fn(o, (m) => warnings.push(m))]);
        for (const m of warnings) this.warnings.push(report(o, m, true));
      } catch (e) {
        if (!(e instanceof ObjectFault)) throw e;
        this.problems.push(report(o, e.message, e.retryable));
      }
    }
    return out;
  }
}

function fault(message: string): never {
  throw new ObjectFault(message);
}

function missing(message: string): never {
  throw new ObjectFault(message, { retryable: true });
}

function parseBfd(o: Obj): BfdProfile {
  const s = o.spec;
  const interval = (v: unknown, f: string) => optInt(v, f, { min: 10, max: 60000 });
  return {
    name: o.name,
    receiveInterval: interval(s.receiveInterval, 'spec.receiveInterval') ?? DEFAULTS.bfdInterval,
    transmitInterval: interval(s.transmitInterval, 'spec.transmitInterval') ?? DEFAULTS.bfdInterval,
    detectMultiplier:
      optInt(s.detectMultiplier, 'spec.detectMultiplier', { min: 2, max: 255 }) ??
      DEFAULTS.bfdDetectMultiplier,
    echoInterval: interval(s.echoInterval, 'spec.echoInterval') ?? DEFAULTS.bfdEchoInterval,
    echoMode: optBool(s.echoMode, 'spec.echoMode') ?? false,
    passiveMode: optBool(s.passiveMode, 'spec.passiveMode') ?? false,
    minimumTtl: optInt(s.minimumTtl, 'spec.minimumTtl', { min: 1, max: 254 }) ?? DEFAULTS.bfdMinimumTtl,
  };
}

function parseCommunities(o: Obj, known: Map<string, { community: Community; owner: string }>): void {
  const list = o.spec.communities ?? [];
  if (!Array.isArray(list)) fault('spec.communities must be a list');
  const mine = new Map<string, Community>();
  list.forEach((entry, i) => {
    if (!isJson(entry)) fault(`spec.communities[${i}] must be an object`);
    const name =
      optString(entry.name, `spec.communities[${i}].name`) ?? fault(`spec.communities[${i}] has no name`);
    const value =
      optString(entry.value, `spec.communities[${i}].value`) ?? fault(`community "${name}" has no value`);
    const parsed = parseCommunity(value);
    if (!parsed.ok) fault(`community "${name}": ${parsed.message}`);
    if (mine.has(name)) fault(`community name "${name}" is defined twice`);
    const other = known.get(name);
    if (other) fault(`community name "${name}" is already defined by Community "${other.owner}"`);
    mine.set(name, parsed.community);
  });
  for (const [name, community] of mine) known.set(name, { community, owner: o.name });
}

function parseServiceAllocation(v: unknown): ServiceAllocation | undefined {
  const sa = optObject(v, 'spec.serviceAllocation');
  if (!sa) return undefined;
  const namespaces = stringList(sa.namespaces, 'spec.serviceAllocation.namespaces');
  rejectDuplicates(namespaces, 'spec.serviceAllocation.namespaces');
  return {
    priority: optInt(sa.priority, 'spec.serviceAllocation.priority', { min: 0, max: 2 ** 31 - 1 }) ?? 0,
    namespaces,
    namespaceSelectors: selectorList(sa.namespaceSelectors, 'spec.serviceAllocation.namespaceSelectors'),
    serviceSelectors: selectorList(sa.serviceSelectors, 'spec.serviceAllocation.serviceSelectors'),
  };
}

/**
 * MAX_POOL_ADDRESSES is the most entries one IPAddressPool's spec.addresses may hold: the CRD schema's maxItems.
 * The parse step enforces it too, before parsing any entry, so an object that never passed the schema (an
 * AdmissionReview sent straight to the webhook) costs a bounded amount of work.
 */
export const MAX_POOL_ADDRESSES = 1024;

/**
 * RangeIndex decides, for pools taken oldest first, whether a range overlaps a range of a pool accepted before
 * it. Every candidate range is sorted once by first address (O(R log R)); accepted ranges are marked in a
 * Fenwick tree over those positions. Accepted ranges never overlap each other, so only the accepted range just
 * before a range and the one just after it can overlap it: each is found in O(log R), and accepting a range
 * costs O(log R). (A sorted array with inserts cost a memmove per range: quadratic when pools arrive out of
 * address order, 0.65 s at 4,096 pools.)
 */
class RangeIndex {
  private readonly entries: Array<{ range: AddressRange; pool: string }>;
  /** positions[k][j] is where range j of candidate k sits in entries. */
  private readonly positions: number[][];
  private readonly tree: Int32Array;
  private readonly top: number;
  private marked = 0;

  /** candidates: each pool's name and ranges, indexed as overlapping() and accept() are later called. */
  constructor(candidates: ReadonlyArray<{ pool: string; ranges: readonly AddressRange[] }>) {
    const all: Array<{ range: AddressRange; pool: string; k: number; j: number }> = [];
    candidates.forEach((c, k) => c.ranges.forEach((range, j) => all.push({ range, pool: c.pool, k, j })));
    // ties (equal first addresses) by candidate order, so the result never depends on the sort's stability
    all.sort((a, b) => byStart(a.range, b.range) || a.k - b.k || a.j - b.j);
    this.entries = all;
    this.positions = candidates.map((c) => new Array<number>(c.ranges.length));
    all.forEach((e, pos) => ((this.positions[e.k] as number[])[e.j] = pos));
    this.tree = new Int32Array(all.length + 1);
    let top = 1;
    while (top * 2 <= all.length) top *= 2;
    this.top = top;
  }

  // count of accepted ranges at positions below pos
  private before(pos: number): number {
    let n = 0;
    for (let x = pos; x > 0; x -= x & -x) n += this.tree[x] as number;
    return n;
  }

  // position of the n-th accepted range (1-based), by descending the tree
  private nth(n: number): number {
    let pos = 0;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = pos + step;
      if (next < this.tree.length && (this.tree[next] as number) < n) {
        pos = next;
        n -= this.tree[next] as number;
      }
    }
    return pos;
  }

  /** overlapping returns an accepted range sharing an address with range j of candidate k, with its pool. */
  overlapping(k: number, j: number): { range: AddressRange; pool: string } | undefined {
    const pos = (this.positions[k] as number[])[j] as number;
    const range = (this.entries[pos] as { range: AddressRange }).range;
    const below = this.before(pos);
    const previous = below > 0 ? this.entries[this.nth(below)] : undefined;
    if (previous && rangesOverlap(previous.range, range)) return previous;
    const next = below < this.marked ? this.entries[this.nth(below + 1)] : undefined;
    return next && rangesOverlap(next.range, range) ? next : undefined;
  }

  /** accept marks every range of candidate k as accepted. */
  accept(k: number): void {
    for (const pos of this.positions[k] as number[]) {
      for (let x = pos + 1; x < this.tree.length; x += x & -x) this.tree[x] = (this.tree[x] as number) + 1;
      this.marked++;
    }
  }
}

// Sorts IPv4 before IPv6, then by first address: the order RangeIndex and the overlap sweep rely on.
function byStart(a: AddressRange, b: AddressRange): number {
  if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

// poolRanges is what a pool's ranges are, checked on their own (entry cap, syntax, usable, no overlap within the
// pool): all that parsePool decides from the object alone, and so what a ParseCache keeps.
function poolRanges(s: Json): AddressRange[] {
  if (Array.isArray(s.addresses) && s.addresses.length > MAX_POOL_ADDRESSES) {
    fault(`spec.addresses has ${s.addresses.length} entries, more than ${MAX_POOL_ADDRESSES}`);
  }
  const addresses = stringList(s.addresses, 'spec.addresses');
  if (addresses.length === 0) fault('spec.addresses is empty: give at least one CIDR or range');
  const ranges: AddressRange[] = addresses.map((text) => {
    try {
      return parseRange(text);
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) fault(e.message);
      throw e;
    }
  });
  for (const r of ranges) {
    const reason = unusableRangeReason(r);
    if (reason) fault(reason);
  }
  // n log n: after sorting by start, two ranges of one pool overlap only if some neighbours do.
  const sorted = [...ranges].sort(byStart);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as AddressRange;
    const cur = sorted[i] as AddressRange;
    if (rangesOverlap(prev, cur)) fault(`address ranges "${prev.text}" and "${cur.text}" overlap`);
  }
  return ranges;
}

// parsePool builds pool k of the index from its own checks (`local`, maybe cached) and the overlap check
// against the pools accepted before it.
function parsePool(o: Obj, local: LocalResult<AddressRange[]>, index: RangeIndex, k: number): Pool {
  const s = o.spec;
  const ranges = valueOf(local);
  ranges.forEach((r, j) => {
    const hit = index.overlapping(k, j);
    if (hit) {
      fault(
        `address range "${r.text}" overlaps address range "${hit.range.text}" of IPAddressPool "${hit.pool}"`,
      );
    }
  });
  const pool: Pool = {
    name: o.name,
    labels: o.labels,
    ranges,
    autoAssign: optBool(s.autoAssign, 'spec.autoAssign') ?? true,
    avoidBuggyIPs: optBool(s.avoidBuggyIPs, 'spec.avoidBuggyIPs') ?? false,
  };
  const sa = parseServiceAllocation(s.serviceAllocation);
  if (sa) pool.serviceAllocation = sa;
  // only now, when nothing can reject the pool any more, do its ranges block later pools
  index.accept(k);
  return pool;
}

function durationMs(v: unknown, field: string): number | undefined {
  const text = optString(v, field);
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch (e) {
    fault(`${field} ${(e as Error).message}`);
  }
  if (ms < 0) fault(`${field} "${text}" is negative`);
  return ms;
}

function parseTimers(s: Json): { holdTime: number; keepaliveTime: number } {
  const ht = durationMs(s.holdTime, 'spec.holdTime');
  const ka = durationMs(s.keepaliveTime, 'spec.keepaliveTime');
  if (ht === undefined && ka === undefined) {
    return { holdTime: DEFAULTS.holdTimeSeconds, keepaliveTime: DEFAULTS.holdTimeSeconds / 3 };
  }
  // The missing one is derived as MetalLB does: keepalive = hold / 3, hold = keepalive × 3.
  const hold = ht ?? (ka as number) * 3;
  const keep = ka ?? hold / 3;
  const holdSeconds = Math.floor(hold / 1000);
  if (holdSeconds !== 0 && holdSeconds < 3) {
    if (ht !== undefined)
      fault(`spec.holdTime "${String(s.holdTime)}" is invalid: it must be 0 or at least 3s`);
    fault(
      `spec.keepaliveTime "${String(s.keepaliveTime)}" gives a holdTime of ${hold / 1000}s (3 × keepalive): ` +
        'the holdTime must be 0 or at least 3s',
    );
  }
  if (keep > hold) {
    const holdText = ht !== undefined ? `"${String(s.holdTime)}"` : `${hold / 1000}s`;
    fault(
      `spec.keepaliveTime "${String(s.keepaliveTime)}" must not be longer than spec.holdTime ${holdText}`,
    );
  }
  return { holdTime: holdSeconds, keepaliveTime: Math.floor(keep / 1000) };
}

function canonicalIP(v: unknown, field: string): string | undefined {
  const text = optString(v, field);
  if (text === undefined) return undefined;
  const a = tryParseAddress(text) ?? fault(`${field} "${text}" is not a valid IP address`);
  return formatAddress(a.family, a.value);
}

function decodeBase64(text: string): string {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

function secretPassword(secret: Obj, ref: string): string {
  const type = secret.raw.type;
  if (type !== 'kubernetes.io/basic-auth') {
    fault(
      `Secret "${ref}" has type "${String(type ?? 'Opaque')}"; a BGP password Secret needs type "kubernetes.io/basic-auth"`,
    );
  }
  const data = isJson(secret.raw.data) ? secret.raw.data : {};
  const stringData = isJson(secret.raw.stringData) ? secret.raw.stringData : {};
  if (typeof data.password === 'string') {
    try {
      return decodeBase64(data.password);
    } catch {
      fault(`Secret "${ref}" key "password" is not valid base64`);
    }
  }
  if (typeof stringData.password === 'string') return stringData.password;
  fault(`Secret "${ref}" has no "password" key`);
}

interface PeerContext {
  bfd: ReadonlyMap<string, BfdProfile>;
  secrets: ReadonlyMap<string, Obj>;
  secretsRead: boolean;
  namespace: string | undefined;
}

function parsePeer(o: Obj, ctx: PeerContext): Peer {
  const s = o.spec;
  const myASN = optInt(s.myASN, 'spec.myASN', { min: 0, max: 4294967295 }) || fault('spec.myASN is missing');
  const peerASN = optInt(s.peerASN, 'spec.peerASN', { min: 0, max: 4294967295 }) || undefined;
  const dynamicASN = optString(s.dynamicASN, 'spec.dynamicASN');
  if (peerASN === undefined && dynamicASN === undefined) fault('spec.peerASN or spec.dynamicASN is required');
  if (peerASN !== undefined && dynamicASN !== undefined) {
    fault('spec.peerASN and spec.dynamicASN are both set: choose one');
  }
  if (dynamicASN !== undefined && dynamicASN !== 'internal' && dynamicASN !== 'external') {
    fault(`spec.dynamicASN "${dynamicASN}" is invalid: use "internal" or "external"`);
  }
  const address = canonicalIP(s.peerAddress, 'spec.peerAddress') ?? fault('spec.peerAddress is missing');
  const sourceAddress = canonicalIP(s.sourceAddress, 'spec.sourceAddress');
  const routerID = canonicalIP(s.routerID, 'spec.routerID');
  if (routerID !== undefined && parseAddress(routerID).family !== 'ipv4') {
    fault(`spec.routerID "${routerID}" must be an IPv4 address`);
  }
  const port = optInt(s.peerPort, 'spec.peerPort', { min: 1, max: 65535 }) ?? DEFAULTS.peerPort;
  const { holdTime, keepaliveTime } = parseTimers(s);
  const connectMs = durationMs(s.connectTime, 'spec.connectTime');
  if (connectMs !== undefined && (connectMs % 1000 !== 0 || connectMs < 1000 || connectMs > 65535_000)) {
    fault(`spec.connectTime "${String(s.connectTime)}" must be whole seconds from 1s to 65535s`);
  }
  const nodeSelectors = selectorList(s.nodeSelectors, 'spec.nodeSelectors');
  const ebgpMultiHop = optBool(s.ebgpMultiHop, 'spec.ebgpMultiHop') ?? false;
  const ibgp = peerASN !== undefined ? peerASN === myASN : dynamicASN === 'internal';
  if (ebgpMultiHop && ibgp) fault('spec.ebgpMultiHop is set but the session is iBGP (peerASN equals myASN)');
  const vrf = optString(s.vrf, 'spec.vrf');
  const enableGracefulRestart = optBool(s.enableGracefulRestart, 'spec.enableGracefulRestart') ?? false;
  const inline = optString(s.password, 'spec.password');
  const ref = optObject(s.passwordSecret, 'spec.passwordSecret');
  const refName = optString(ref?.name, 'spec.passwordSecret.name');
  if (inline !== undefined && refName !== undefined) {
    fault('spec.password and spec.passwordSecret are both set: choose one');
  }
  const refNamespace =
    optString(ref?.namespace, 'spec.passwordSecret.namespace') ?? ctx.namespace ?? o.namespace;
  if (refName !== undefined && ctx.namespace !== undefined && refNamespace !== ctx.namespace) {
    fault(
      `spec.passwordSecret must name a Secret in namespace "${ctx.namespace}", not "${refNamespace ?? ''}"`,
    );
  }
  const bfdProfile = optString(s.bfdProfile, 'spec.bfdProfile');

  // References last: a terminal problem wins over a missing object. Both references are checked, so a peer
  // missing its Secret and its BFDProfile is told of both at once.
  let password = inline;
  const unresolved: string[] = [];
  if (refName !== undefined && ctx.secretsRead) {
    const key = refNamespace !== undefined ? `${refNamespace}/${refName}` : refName;
    const secret = ctx.secrets.get(key);
    if (secret) password = secretPassword(secret, key);
    else unresolved.push(`Secret "${key}" named in spec.passwordSecret does not exist`);
  }
  if (bfdProfile !== undefined && !ctx.bfd.has(bfdProfile)) {
    unresolved.push(`BFDProfile "${bfdProfile}" named in spec.bfdProfile does not exist`);
  }
  if (unresolved.length > 0) missing(unresolved.join('; '));

  const peer: Peer = {
    name: o.name,
    myASN,
    address,
    port,
    holdTime,
    keepaliveTime,
    connectTime: connectMs !== undefined ? connectMs / 1000 : DEFAULTS.connectTimeSeconds,
    nodeSelectors,
    ebgpMultiHop,
    enableGracefulRestart,
  };
  if (peerASN !== undefined) peer.peerASN = peerASN;
  if (dynamicASN === 'internal' || dynamicASN === 'external') peer.dynamicASN = dynamicASN;
  if (sourceAddress !== undefined) peer.sourceAddress = sourceAddress;
  if (routerID !== undefined) peer.routerID = routerID;
  if (password !== undefined) peer.password = password;
  if (bfdProfile !== undefined) peer.bfdProfile = bfdProfile;
  if (vrf !== undefined) peer.vrf = vrf;
  return peer;
}

/** PoolContext: the accepted pools, and the names of every IPAddressPool object (rejected ones too). */
interface PoolContext {
  pools: readonly Pool[];
  objects: ReadonlySet<string>;
}

function resolvePools(
  named: readonly string[],
  selectors: readonly LabelSelector[],
  ctx: PoolContext,
  warn: (message: string) => void,
): string[] {
  if (named.length === 0 && selectors.length === 0) return ctx.pools.map((p) => p.name);
  const wanted = new Set(named);
  const out = ctx.pools
    .filter((p) => wanted.has(p.name) || (selectors.length > 0 && anySelectorMatches(selectors, p.labels)))
    .map((p) => p.name);
  const accepted = new Set(ctx.pools.map((p) => p.name));
  for (const name of named) {
    if (accepted.has(name)) continue;
    warn(
      ctx.objects.has(name)
        ? `IPAddressPool "${name}" named in spec.ipAddressPools is invalid (see its status): nothing of it is advertised`
        : `IPAddressPool "${name}" named in spec.ipAddressPools does not exist: nothing is advertised for it`,
    );
  }
  return out;
}

function parseL2(o: Obj, pools: PoolContext, warn: (message: string) => void): L2Advertisement {
  const s = o.spec;
  const named = stringList(s.ipAddressPools, 'spec.ipAddressPools');
  rejectDuplicates(named, 'spec.ipAddressPools');
  const poolSelectors = selectorList(s.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors');
  const interfaces = stringList(s.interfaces, 'spec.interfaces');
  rejectDuplicates(interfaces, 'spec.interfaces');
  return {
    name: o.name,
    pools: resolvePools(named, poolSelectors, pools, warn),
    nodeSelectors: selectorList(s.nodeSelectors, 'spec.nodeSelectors'),
    interfaces,
    serviceSelectors: selectorList(s.serviceSelectors, 'spec.serviceSelectors'),
  };
}

function checkAggregation(adv: BgpAdvertisement, pool: Pool): void {
  for (const r of pool.ranges) {
    const longest = Math.min(...rangeToCidrs(r).map((c) => c.prefixLength));
    const [field, length] =
      r.family === 'ipv4'
        ? ['aggregationLength', adv.aggregationLength]
        : ['aggregationLengthV6', adv.aggregationLengthV6];
    if (length < longest) {
      fault(
        `spec.${field} ${length} is shorter than prefix length ${longest} of address "${r.text}" in ` +
          `IPAddressPool "${pool.name}": the aggregate would cover addresses outside the pool`,
      );
    }
  }
}

function parseBgpAdv(
  o: Obj,
  ctx: {
    pools: PoolContext;
    communities: ReadonlyMap<string, { community: Community }>;
    seen: Map<string, string>;
  },
  warn: (message: string) => void,
): BgpAdvertisement {
  const s = o.spec;
  const aggregationLength =
    optInt(s.aggregationLength, 'spec.aggregationLength', { min: 0, max: 32 }) ?? DEFAULTS.aggregationLength;
  const aggregationLengthV6 =
    optInt(s.aggregationLengthV6, 'spec.aggregationLengthV6', { min: 0, max: 128 }) ??
    DEFAULTS.aggregationLengthV6;
  const localPref = optInt(s.localPref, 'spec.localPref', { min: 0, max: 4294967295 });
  const named = stringList(s.ipAddressPools, 'spec.ipAddressPools');
  rejectDuplicates(named, 'spec.ipAddressPools');
  const poolSelectors = selectorList(s.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors');
  const peers = stringList(s.peers, 'spec.peers');
  rejectDuplicates(peers, 'spec.peers');
  const texts = stringList(s.communities, 'spec.communities');
  rejectDuplicates(texts, 'spec.communities');
  const communities: Community[] = [];
  const unknown: string[] = [];
  for (const t of texts) {
    const parsed = parseCommunity(t);
    if (parsed.ok) communities.push(parsed.community);
    else if (parsed.shape === 'badValue') fault(parsed.message);
    else {
      const alias = ctx.communities.get(t);
      if (alias) communities.push(alias.community);
      else unknown.push(t);
    }
  }
  const adv: BgpAdvertisement = {
    name: o.name,
    pools: resolvePools(named, poolSelectors, ctx.pools, warn),
    aggregationLength,
    aggregationLengthV6,
    communities,
    nodeSelectors: selectorList(s.nodeSelectors, 'spec.nodeSelectors'),
    peers,
    serviceSelectors: selectorList(s.serviceSelectors, 'spec.serviceSelectors'),
  };
  if (localPref !== undefined) adv.localPref = localPref;
  const covered = new Set(adv.pools);
  for (const p of ctx.pools.pools) if (covered.has(p.name)) checkAggregation(adv, p);
  const spec = stableJson(o.spec);
  const twin = ctx.seen.get(spec);
  if (twin !== undefined) fault(`spec is identical to BGPAdvertisement "${twin}"`);
  if (unknown.length > 0) {
    missing(
      `community "${unknown[0]}" is neither a value ("65000:100", "large:1:2:3") nor a name defined by a ` +
        'Community object',
    );
  }
  ctx.seen.set(spec, o.name);
  return adv;
}

/**
 * parseConfig turns raw objects (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer v1beta1/v1beta2,
 * Community, BFDProfile, and the Secrets holding BGP passwords; anything else is ignored) into the Config model
 * plus one ConfigProblem per rejected object. Guarantees on the model: pool names are unique, no two ranges
 * overlap (within or across pools), every advertisement's pools exist, every peer's BFD profile exists, every
 * community is resolved. Conflicts are decided by age: the object created later is the one rejected, so the
 * result does not depend on the order of `objects`. Lists in the model are sorted by name. Pool addresses are
 * usable (src/address/usable.ts: no loopback, multicast, … range). Pure; cost O(R log R + N) for R address
 * ranges and N objects; with options.cache, address parsing is only paid for objects not parsed before.
 */
export function parseConfig(objects: readonly unknown[], options: ParseOptions = {}): ParseResult {
  return parseObjs(readObjs(objects, options.cache !== undefined), options);
}

function readObjs(objects: readonly unknown[], cacheable: boolean): Obj[] {
  const out: Obj[] = [];
  for (const raw of objects) {
    const o = readObj(raw, cacheable);
    if (o) out.push(o);
  }
  return out;
}

function parseObjs(objs: readonly Obj[], options: ParseOptions): ParseResult {
  const groups = new Map<string, Obj[]>();
  const secrets = new Map<string, Obj>();
  for (const o of objs) {
    if (o.kind === 'Secret') {
      secrets.set(o.namespace !== undefined ? `${o.namespace}/${o.name}` : o.name, o);
      if (options.namespace === undefined) secrets.set(o.name, secrets.get(o.name) ?? o);
      continue;
    }
    const list = groups.get(o.kind) ?? [];
    list.push(o);
    groups.set(o.kind, list);
  }
  const of = (kind: ConfigKind) => (groups.get(kind) ?? []).sort(olderFirst);
  const c = new Collector();

  const bfdProfiles = new Map(c.each(of('BFDProfile'), parseBfd).map(([o, b]) => [o.name, b] as const));

  const aliases = new Map<string, { community: Community; owner: string }>();
  c.each(of('Community'), (o) => parseCommunities(o, aliases));

  const pools: Pool[] = [];
  // each pool's own checks first (kept in the cache by uid and resourceVersion), then overlaps between pools
  const poolObjs = of('IPAddressPool');
  const locals = poolObjs.map((o) =>
    options.cache ? options.cache.local(o, () => poolRanges(o.spec)) : runLocal(() => poolRanges(o.spec)),
  );
  const index = new RangeIndex(
    poolObjs.map((o, k) => {
      const r = locals[k] as LocalResult<AddressRange[]>;
      return { pool: o.name, ranges: r.ok ? r.value : [] };
    }),
  );
  const position = new Map(poolObjs.map((o, k) => [o, k]));
  c.each(poolObjs, (o) => {
    const k = position.get(o) as number;
    const p = parsePool(o, locals[k] as LocalResult<AddressRange[]>, index, k);
    pools.push(p);
    return p;
  });
  pools.sort(byName);

  const peerCtx: PeerContext = {
    bfd: bfdProfiles,
    secrets,
    secretsRead: options.secretsRead ?? true,
    namespace: options.namespace,
  };
  const peers = c.each(of('BGPPeer'), (o) => parsePeer(o, peerCtx)).map(([, p]) => p);
  const poolCtx: PoolContext = { pools, objects: new Set(of('IPAddressPool').map((o) => o.name)) };
  const l2 = c.each(of('L2Advertisement'), (o, warn) => parseL2(o, poolCtx, warn)).map(([, a]) => a);
  const seen = new Map<string, string>();
  const bgp = c
    .each(of('BGPAdvertisement'), (o, warn) =>
      parseBgpAdv(o, { pools: poolCtx, communities: aliases, seen }, warn),
    )
    .map(([, a]) => a);

  const config: Config = {
    pools: new Map(pools.map((p) => [p.name, p])),
    l2Advertisements: l2.sort(byName),
    bgpAdvertisements: bgp.sort(byName),
    peers: peers.sort(byName),
    bfdProfiles: new Map([...bfdProfiles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
  options.cache?.sweep();
  return { config, problems: c.problems, warnings: c.warnings };
}

/** ValidateOptions: `existing` is every object currently stored (any kinds, Secrets included). */
export interface ValidateOptions extends ParseOptions {
  existing: readonly unknown[];
}

/**
 * validateObject is the admission webhook's check, built on parseConfig so both agree. It parses `existing`
 * with `obj` in place of its stored version and returns the problems of `obj` itself plus every problem on
 * another object that the change introduces (a pool edit that breaks an advertisement's aggregationLength is
 * reported, though the message names the advertisement). The webhook denies when any returned problem is not
 * retryable; retryable ones (a BFDProfile not created yet) are admitted, since creation order is free.
 */
export function validateObject(kind: string, obj: unknown, options: ValidateOptions): ConfigProblem[] {
  // the reviewed object is never looked up in the cache: an update carries the stored uid and resourceVersion
  const self = readObj(isJson(obj) ? { ...obj, kind } : obj);
  if (!self) throw new TypeError('validateObject needs a Kubernetes object');
  const others = readObjs(options.existing, options.cache !== undefined).filter(
    (o) => !(o.kind === kind && o.name === self.name && o.namespace === self.namespace),
  );
  const parseOptions: ParseOptions = {};
  if (options.namespace !== undefined) parseOptions.namespace = options.namespace;
  if (options.secretsRead !== undefined) parseOptions.secretsRead = options.secretsRead;
  if (options.cache !== undefined) parseOptions.cache = options.cache;
  const before = parseObjs(others, parseOptions).problems;
  const after = parseObjs([...others, self], parseOptions).problems;
  const key = (p: ConfigProblem) => `${p.kind}\u0000${p.namespace ?? ''}\u0000${p.name}\u0000${p.message}`;
  const old = new Set(before.map(key));
  return after.filter((p) => (p.kind === kind && p.name === self.name) || !old.has(key(p)));
}
