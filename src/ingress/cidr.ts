// Minimal CIDR arithmetic for allow-lists: parse, normalise, test containment. IPv4 and IPv6, no zones.

/** Cidr is a parsed network: family, network address as a bigint (host bits zero) and prefix length. */
export interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const words = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] ?? '';
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0] ?? '');
  const tail = halves.length === 2 ? words(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

/** parseCidr parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128); host bits are cleared. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr = '', len, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const v4 = parseV4(addr);
  const family = v4 !== undefined ? 4 : 6;
  const bits = v4 ?? parseV6(addr);
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (len !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(len)) return undefined;
  const prefix = len === undefined ? max : Number(len);
  if (prefix > max) return undefined;
  const hostMask = (1n << BigInt(max - prefix)) - 1n;
  return { family, bits: bits & ~hostMask, prefix };
}

/** formatCidr prints a Cidr canonically: dotted IPv4, RFC 5952 compressed IPv6, always with `/prefix`. */
export function formatCidr(c: Cidr): string {
  if (c.family === 4) {
    const o = [24n, 16n, 8n, 0n].map((s) => String((c.bits >> s) & 0xffn));
    return `${o.join('.')}/${c.prefix}`;
  }
  const w: number[] = [];
  for (let i = 7; i >= 0; i--) w.push(Number((c.bits >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  const text =
    bestStart === -1
      ? hex.join(':')
      : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
  return `${text}/${c.prefix}`;
}

/** cidrContains tells whether network `outer` contains network (or address) `inner`; families must match. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const max = outer.family === 4 ? 32 : 128;
  const shift = BigInt(max - outer.prefix);
  return inner.bits >> shift === outer.bits >> shift;
}

/** parseCidrList parses a comma-separated list; it returns the canonical, sorted, de-duplicated CIDRs or the first bad entry. */
export function parseCidrList(text: string): { cidrs: string[] } | { bad: string } {
  const out = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const c = parseCidr(entry);
    if (!c) return { bad: entry };
    out.add(formatCidr(c));
  }
  return { cidrs: [...out].sort() };
}
