// How a benchmark ends without leaving anything behind: one cleanup, run once, whether the script finishes,
// fails, or is stopped by a signal (Ctrl-C, `timeout`'s SIGTERM, a closed terminal's SIGHUP), followed by a sweep
// of the child processes the cleanup did not know about (one started while the signal arrived).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { stopPid } from '../../test/harness/exec.ts';

/** childPids lists the live processes whose parent is this one, read from /proc. */
export function childPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // after "pid (comm) " come state and ppid
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * onShutdown makes `cleanup` the one way this script ends: the returned function runs it (once, however often
 * it is called), then stops every remaining child process (SIGTERM, SIGKILL after 3 s) and removes `dirs` (read
 * at that moment: add a temporary directory before starting anything in it). SIGINT, SIGTERM and
 * SIGHUP run it and exit 128+signal; an uncaught error or unhandled rejection runs it and exits 1. Call the
 * returned function in the script's own `finally` too.
 */
export function onShutdown(
  cleanup: () => Promise<void>,
  o: { log: (msg: string) => void; dirs?: Set<string> },
): () => Promise<void> {
  const { log } = o;
  let once: Promise<void> | undefined;
  const shutdown = () =>
    (once ??= (async () => {
      try {
        await cleanup();
      } catch (e) {
        log(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      await Promise.all(childPids().map((pid) => stopPid(pid, 3000)));
      for (const dir of o.dirs ?? []) rmSync(dir, { recursive: true, force: true });
    })());
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const [signal, code] of Object.entries(codes)) {
    process.on(signal, () => {
      log(`${signal}: stopping what this benchmark started`);
      void shutdown().finally(() => process.exit(code));
    });
  }
  const fail = (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    void shutdown().finally(() => process.exit(1));
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  return shutdown;
}
