// Reading a process's memory from /proc, the one way the benchmarks measure it (the controller bench, the
// speaker's per-pod bench and the heartbeat-thread bench).
import { readFileSync } from 'node:fs';

/** ProcessMemory is one process's memory in MiB, and its thread count. */
export interface ProcessMemory {
  /** peak: VmHWM, the resident set's high-water mark since the process started. */
  peak: number;
  /** rss: VmRSS, the resident set now. */
  rss: number;
  /** anon: the anonymous part of the resident set (smaps_rollup). */
  anon: number;
  threads: number;
}

/** processMemory reads /proc/<pid>/status and smaps_rollup ('self' for this process); NaN for a missing field. */
export function processMemory(pid: number | string): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (re: RegExp, text: string) => Number(re.exec(text)?.[1] ?? NaN);
  return {
    peak: field(/VmHWM:\s+(\d+) kB/, status) / 1024,
    rss: field(/VmRSS:\s+(\d+) kB/, status) / 1024,
    anon: field(/Anonymous:\s+(\d+) kB/, rollup) / 1024,
    threads: field(/Threads:\s+(\d+)/, status),
  };
}
