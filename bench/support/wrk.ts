// wrk, the HTTP load generator the proxy benchmarks share (bench/ingress, bench/gateway.bench.ts): one run's
// requests, req/s, p99 and errors (socket errors plus non-2xx/3xx answers), read from wrk's report.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** WrkResult is what one wrk run reported. */
export interface WrkResult {
  requests: number;
  rps: number;
  p99: string;
  errors: number;
}

/** WrkTarget: where the load goes (address default 127.0.0.1) and with what Host header and path. */
export interface WrkTarget {
  address?: string;
  port: number;
  host: string;
  path: string;
  connections: number;
  seconds: number;
}

/** wrk runs `wrk -t1 -c<connections> -d<seconds>s --latency` against the target and parses its report. */
export async function wrk(t: WrkTarget): Promise<WrkResult> {
  const { stdout } = await execFileP(
    'wrk',
    [
      '-t1',
      `-c${t.connections}`,
      `-d${t.seconds}s`,
      '--latency',
      '-H',
      `Host: ${t.host}`,
      `http://${t.address ?? '127.0.0.1'}:${t.port}${t.path}`,
    ],
    { timeout: (t.seconds + 30) * 1000 },
  );
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors =
    (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + num(/Non-2xx or 3xx responses: (\d+)/);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p99: /^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? '?',
    errors,
  };
}

/** median of a list of numbers (NaN when empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : ((s[Math.floor((s.length - 1) / 2)] ?? 0) + (s[Math.ceil((s.length - 1) / 2)] ?? 0)) / 2;
}

/**
 * cpuSeconds is the CPU time (user + system) a process and its children have used so far, from /proc: e.g. an
 * HAProxy master and its workers. CPU time per request is the figure machine load barely moves (wall-clock
 * req/s on shared cores does).
 */
export function cpuSeconds(pid: number): number {
  const one = (p: number): number => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // after "pid (comm) ": utime and stime are fields 14 and 15, i.e. 11 and 12 here (USER_HZ = 100)
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0; // gone
    }
  };
  const children = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((t) =>
        readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  return one(pid) + children(pid).reduce((sum, c) => sum + one(c), 0);
}
