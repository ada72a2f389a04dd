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

/** CLOCK_TICKS is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times (100 on Linux for x86 and arm). */
const CLOCK_TICKS = 100;

/**
 * processCpuSeconds reads the CPU time a process has used so far, user plus system, all its threads
 * (/proc/<pid>/stat fields utime and stime), in seconds.
 */
export function processCpuSeconds(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name may hold spaces and parentheses: the fields start after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is the state (field 3), so utime (field 14) and stime (field 15) are at 11 and 12
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
