// Runs gobgpd next to the speaker and keeps the speaker's BGP state in it.
//
// gobgpd keeps everything in memory: when it restarts, its peers and paths are gone. The sidecar therefore does
// not just start it; it watches it. A WatchEvent stream stays open; when it ends (gobgpd died, or the gRPC
// connection broke) the sidecar waits until gobgpd answers again and asks GetBgp: asn 0 means a fresh process,
// so the caller's onReady runs again (generation + 1) to re-create peers and paths. The same loop serves both
// deployments: gobgpd spawned and supervised here (the lab, a single container), or gobgpd in its own container
// of the speaker pod (spawn: false), where Kubernetes restarts it and only the gRPC side is visible.

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { PeerEvent } from '../../src/bgp/status.ts';
import { realClock, sleep, type Clock } from '../../edge/clock.ts';
import { DEFAULT_GOBGP_API_TARGET, GobgpClient, type GobgpClientOptions } from './gobgp.ts';

/** SidecarLogger is the structured logger the sidecar writes to (pino-compatible: object first, then message). */
export interface SidecarLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** GobgpReady is what onReady receives each time a gobgpd (re)appears. */
export interface GobgpReady {
  readonly client: GobgpClient;
  /** generation: 1 for the first gobgpd seen, +1 on every restart detected. */
  readonly generation: number;
  /**
   * fresh: gobgpd has never been started (GetBgp asn 0): call StartBgp, add every peer and path, and start
   * from an empty path map. false only on generation 1 when a gobgpd that outlived the speaker is found:
   * adopt its state (client.listLocalPaths() + planAdoption, client.listPeers()) instead of starting it again.
   */
  readonly fresh: boolean;
}

/** GobgpSpawnOptions say how to start gobgpd as a child process. */
export interface GobgpSpawnOptions {
  /** binary: default /usr/bin/gobgpd. */
  readonly binary?: string;
  /** wrapper: command prefix, e.g. ["ip", "netns", "exec", "ns1"] (must exec, so the pid is gobgpd's). */
  readonly wrapper?: readonly string[];
  /** logLevel: gobgpd's -l; default "info". */
  readonly logLevel?: string;
  /** stopTimeoutMs: SIGTERM, then SIGKILL after this long; default 5 000. */
  readonly stopTimeoutMs?: number;
}

/** GobgpSidecarOptions configure a GobgpSidecar. */
export interface GobgpSidecarOptions {
  /** apiTarget: gobgpd's gRPC address, `127.0.0.1:<port>` (default DEFAULT_GOBGP_API_TARGET) or `unix:///path`. */
  readonly apiTarget?: string;
  /** spawn: start and supervise gobgpd here (default {}), or false when something else runs it. */
  readonly spawn?: GobgpSpawnOptions | false;
  readonly client?: GobgpClientOptions;
  /** onReady: (re)configure gobgpd. Throwing makes the sidecar retry after a backoff. */
  readonly onReady: (ready: GobgpReady) => Promise<void>;
  /** onPeerEvent: every peer event of the watch stream (INIT per peer, END_OF_INIT, STATE changes). */
  readonly onPeerEvent?: (event: PeerEvent, generation: number) => void;
  /** onDown: gobgpd stopped answering (the stream ended); paths are not being announced until the next onReady. */
  readonly onDown?: (reason: string) => void;
  readonly logger?: SidecarLogger;
  /** backoffMs: first and longest pause between attempts; default 100 and 5 000. */
  readonly backoffMs?: { readonly initial: number; readonly max: number };
  /** clock times the start timeout, the backoffs and the stop grace (default the real clock). */
  readonly clock?: Clock;
}

const silent: SidecarLogger = { debug() {}, info() {}, warn() {}, error() {} };

function unixPath(target: string): string | undefined {
  if (target.startsWith('unix://')) return target.slice('unix://'.length);
  if (target.startsWith('unix:')) return target.slice('unix:'.length);
  return undefined;
}

/**
 * GobgpSidecar starts (optionally) and watches one gobgpd. start() resolves once gobgpd answers and the first
 * onReady succeeded; afterwards every detected restart re-runs onReady. stop() ends the watch, stops gobgpd if
 * it was spawned here, and closes the client. A spawned gobgpd is also killed if the Node process exits.
 */
export class GobgpSidecar {
  /** client is the gRPC client to gobgpd, valid until stop(). */
  readonly client: GobgpClient;
  readonly #options: GobgpSidecarOptions;
  readonly #log: SidecarLogger;
  readonly #target: string;
  readonly #clock: Clock;
  readonly #stop = new AbortController();
  #child: ChildProcess | undefined;
  #childExited: Promise<void> = Promise.resolve();
  #generation = 0;
  #loop: Promise<void> | undefined;
  #killOnExit = (): void => {
    this.#child?.kill('SIGKILL');
  };

  constructor(options: GobgpSidecarOptions) {
    this.#options = options;
    this.#log = options.logger ?? silent;
    this.#target = options.apiTarget ?? DEFAULT_GOBGP_API_TARGET;
    this.#clock = options.clock ?? realClock;
    this.client = new GobgpClient(this.#target, options.client);
  }

  /** generation is the number of gobgpd instances configured so far (0 before the first onReady). */
  get generation(): number {
    return this.#generation;
  }

  /** pid is the spawned gobgpd's process id, undefined when not running or not spawned here. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  /** start spawns gobgpd (unless spawn is false) and resolves after the first successful onReady; rejects after timeoutMs. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.#loop !== undefined) throw new Error(`gobgpd sidecar for "${this.#target}" is already started`);
    if (this.#options.spawn !== false) {
      process.once('exit', this.#killOnExit);
      this.#spawn();
    }
    let firstReady!: () => void;
    const ready = new Promise<void>((resolve) => (firstReady = resolve));
    this.#loop = this.#run(firstReady);
    const timeout = sleep(this.#clock, timeoutMs, this.#stop.signal).then(
      () => 'timeout',
      () => 'stopped',
    );
    const outcome = await Promise.race([ready.then(() => 'ready'), timeout]);
    if (outcome !== 'ready') {
      await this.stop();
      throw new Error(`gobgpd at "${this.#target}" was not ready within ${timeoutMs} ms`);
    }
  }

  /**
   * stop ends the watch loop, stops a spawned gobgpd (SIGTERM, then SIGKILL) and closes the client. Idempotent.
   * With kill, a spawned gobgpd is killed at once (SIGKILL): it then closes its sessions without a NOTIFICATION,
   * which routers with graceful restart treat as a restart (they keep the routes); on SIGTERM gobgpd sends a
   * Cease, and the routers drop them.
   */
  async stop(options: { kill?: boolean } = {}): Promise<void> {
    this.#stop.abort();
    this.#watchCancel?.();
    // Stop gobgpd before waiting for the loop: a call in flight then fails at once instead of at its deadline.
    await this.#stopChild(options.kill === true);
    await this.#loop?.catch(() => undefined);
    process.removeListener('exit', this.#killOnExit);
    this.client.close();
  }

  #watchCancel: (() => void) | undefined;
  readonly #downWaiters = new Set<() => void>();

  /**
   * untilDown resolves true when gobgpd stops answering (its watch stream ends: it exited, was killed, or the
   * connection broke), false after timeoutMs. For a gobgpd in its own container that the speaker cannot stop.
   */
  untilDown(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (down: boolean): void => {
        timer.cancel();
        this.#downWaiters.delete(wake);
        resolve(down);
      };
      const wake = (): void => done(true);
      const timer = this.#clock.setTimeout(() => done(false), timeoutMs);
      this.#downWaiters.add(wake);
    });
  }

  #spawn(): void {
    const spawnOptions = this.#options.spawn === false ? {} : (this.#options.spawn ?? {});
    const socket = unixPath(this.#target);
    // gobgpd refuses to listen on a unix socket path that already exists (stale from a killed process).
    if (socket !== undefined) rmSync(socket, { force: true });
    const command = [
      ...(spawnOptions.wrapper ?? []),
      spawnOptions.binary ?? '/usr/bin/gobgpd',
      '-p',
      '--api-hosts',
      this.#target,
      '--pprof-disable',
      '-l',
      spawnOptions.logLevel ?? 'info',
    ];
    const [file = '', ...args] = command;
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#log.info({ target: this.#target, pid: child.pid, command }, 'gobgpd started');
    const forward = (stream: NodeJS.ReadableStream | null): void => {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (buffered + chunk).split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines)
          if (line !== '') this.#log.debug({ target: this.#target, gobgpd: line }, 'gobgpd log');
      });
    };
    forward(child.stdout);
    forward(child.stderr);
    this.#childExited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.#stop.signal.aborted) {
          this.#log.warn(
            { target: this.#target, pid: child.pid, code, signal },
            'gobgpd exited; restarting it',
          );
          void this.#respawnLater();
        }
        resolve();
      });
      child.once('error', (error) => {
        this.#log.error({ target: this.#target, err: error.message }, 'gobgpd could not be started');
        resolve();
      });
    });
  }

  #respawnDelay = 0;

  async #respawnLater(): Promise<void> {
    const { initial, max } = this.#options.backoffMs ?? { initial: 100, max: 5_000 };
    this.#respawnDelay = Math.min(max, Math.max(initial, this.#respawnDelay * 2));
    try {
      await sleep(this.#clock, this.#respawnDelay, this.#stop.signal);
    } catch {
      return;
    }
    this.#spawn();
  }

  async #stopChild(kill: boolean): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const timeoutMs = (this.#options.spawn !== false && this.#options.spawn?.stopTimeoutMs) || 5_000;
    child.kill(kill ? 'SIGKILL' : 'SIGTERM');
    const killed = await Promise.race([
      this.#childExited.then(() => true),
      sleep(this.#clock, timeoutMs).then(() => false),
    ]);
    if (!killed) {
      this.#log.warn({ target: this.#target, pid: child.pid }, 'gobgpd ignored SIGTERM; killing it');
      child.kill('SIGKILL');
      await this.#childExited;
    }
    const socket = unixPath(this.#target);
    if (socket !== undefined) rmSync(socket, { force: true });
  }

  async #run(firstReady: () => void): Promise<void> {
    const { initial, max } = this.#options.backoffMs ?? { initial: 100, max: 5_000 };
    let delay = initial;
    // needsConfig stays true until an onReady completes, so a half-done configuration is retried (then with
    // fresh false, because StartBgp already went through).
    let needsConfig = true;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        const global = await this.client.getBgp();
        const fresh = global.asn === 0;
        if (fresh || needsConfig) {
          needsConfig = true;
          const generation = this.#generation + 1;
          this.#log.info({ target: this.#target, generation, fresh }, 'gobgpd is answering; configuring it');
          await this.#options.onReady({ client: this.client, generation, fresh });
          this.#generation = generation;
          needsConfig = false;
          firstReady();
        }
        delay = initial;
        this.#respawnDelay = 0;
        const watch = this.client.watchPeers((event) => {
          try {
            this.#options.onPeerEvent?.(event, this.#generation);
          } catch (error) {
            this.#log.error({ target: this.#target, err: (error as Error).message }, 'onPeerEvent failed');
          }
        });
        this.#watchCancel = watch.cancel;
        if (signal.aborted) watch.cancel(); // stop() ran while onReady was in flight
        const end = await watch.ended;
        this.#watchCancel = undefined;
        for (const wake of [...this.#downWaiters]) wake();
        if (signal.aborted) break;
        this.#log.warn(
          { target: this.#target, status: end.status, details: end.details },
          'gobgpd watch ended',
        );
        this.#options.onDown?.(end.details);
      } catch (error) {
        if (signal.aborted) break;
        this.#log.debug({ target: this.#target, err: (error as Error).message }, 'gobgpd not ready');
      }
      try {
        await sleep(this.#clock, delay, signal);
      } catch {
        break;
      }
      delay = Math.min(max, delay * 2);
    }
  }
}
