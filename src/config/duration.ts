// Kubernetes metav1.Duration fields (BGPPeer holdTime, keepaliveTime, connectTime) are Go duration strings.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * parseGoDuration parses a Go duration ("90s", "1m30s", "1.5h", "300ms", "0") into milliseconds, as Go's
 * time.ParseDuration does. Throws a TypeError naming the text when it is not a duration. O(length).
 */
export function parseGoDuration(text: string): number {
  const m = /^([-+]?)(.*)$/.exec(text);
  let rest = m?.[2] ?? '';
  const sign = m?.[1] === '-' ? -1 : 1;
  if (rest === '0') return 0;
  if (rest === '') throw new TypeError(`"${text}" is not a duration`);
  let total = 0;
  while (rest.length > 0) {
    const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part?.[1] || !part[2])
      throw new TypeError(`"${text}" is not a duration (write e.g. "90s" or "1m30s")`);
    total += Number(part[1]) * (UNIT_MS[part[2]] ?? Number.NaN);
    rest = rest.slice(part[0].length);
  }
  return sign * total;
}
