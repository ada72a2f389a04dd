// Process helpers for the harness: run a command to completion, or start a long-lived one (optionally inside a
// network namespace) with its output in a log file, and stop processes by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** RunResult is what a finished command printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** RunOptions for run(): a network namespace to run in, input, and whether a non-zero exit throws. */
export interface RunOptions {
  netns?: string;
  input?: string;
  check?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

function withNetns(argv: string[], netns?: string): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
}

/** run executes argv synchronously and returns its output; by default a non-zero exit throws with stderr. */
export function run(argv: string[], options: RunOptions = {}): RunResult {
  const full = withNetns(argv, options.netns);
  const r = spawnSync(full[0] as string, full.slice(1), {
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const res = { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (r.error)
    throw new Error(`Command "${full.join(' ')}" failed to run: ${r.error.message}`, { cause: r.error });
  if ((options.check ?? true) && res.code !== 0) {
    throw new Error(
      `Command "${full.join(' ')}" exited ${res.code}: ${res.stderr.trim() || res.stdout.trim()}`,
    );
  }
  return res;
}

/** runAsync is run() without blocking the event loop (needed while in-process servers must answer). */
export function runAsync(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const full = withNetns(argv, options.netns);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0] as string, full.slice(1), { env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`Command "${full.join(' ')}" failed to run: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const res = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if ((options.check ?? true) && res.code !== 0) {
        reject(
          new Error(`Command "${full.join(' ')}" exited ${res.code}: ${stderr.trim() || stdout.trim()}`),
        );
      } else resolve(res);
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** StartOptions for start(): namespace, log file, environment and whether the process outlives this one. */
export interface StartOptions {
  netns?: string;
  log: string;
  env?: NodeJS.ProcessEnv;
  /** detached processes keep running after this process exits (the lab); tests use attached ones. */
  detached?: boolean;
  cwd?: string;
}

/** start launches a long-lived process with stdout and stderr appended to options.log; returns it at once. */
export function start(argv: string[], options: StartOptions): ChildProcess {
  const full = withNetns(argv, options.netns);
  const fd = openSync(options.log, 'a');
  try {
    const child = spawn(full[0] as string, full.slice(1), {
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      detached: options.detached ?? false,
      cwd: options.cwd,
    });
    if (options.detached) child.unref();
    child.on('error', () => {
      /* reported through the log and the caller's readiness wait */
    });
    return child;
  } finally {
    closeSync(fd);
  }
}

/** alive reports whether a pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** stopPid sends SIGTERM, waits up to graceMs, then SIGKILL. Never throws for a pid already gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** waitFor polls fn until it returns a truthy value or timeoutMs passes; then throws naming what. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; log?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    await sleep(options.intervalMs ?? 200);
  }
  const tail =
    options.log && existsSync(options.log)
      ? `\n--- last lines of ${options.log}:\n${tailOf(options.log, 20)}`
      : '';
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`Timed out waiting for ${what}${why}${tail}`);
}

/** tailOf returns the last n lines of a text file. */
export function tailOf(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-n - 1)
      .join('\n');
  } catch {
    return '';
  }
}
