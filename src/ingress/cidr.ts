// Allow-lists of CIDRs for the proxy, on the one address module (src/address).
import { formatCidr, tryParseCidr } from '../address/address.ts';

/**
 * parseCidrList parses a comma-separated list of CIDRs or bare addresses; it returns the canonical, sorted,
 * de-duplicated CIDRs or the first bad entry.
 */
export function parseCidrList(text: string): { cidrs: string[] } | { bad: string } {
  const out = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const c = tryParseCidr(entry, { bareAddress: true });
    if (!c) return { bad: entry };
    out.add(formatCidr(c));
  }
  return { cidrs: [...out].sort() };
}
