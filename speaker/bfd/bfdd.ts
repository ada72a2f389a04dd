// The node's BFD responder: FRR's bfdd, run next to gobgpd (which has no BFD), configured through its own vty
// socket with vtysh. One bfdd peer per BGPPeer that names a BFDProfile; the router's bgpd ties the BGP session
// to that BFD session, so when the node stops answering (cable, kernel, whole node) the router drops the
// node's routes after detectMultiplier × interval instead of the BGP hold time.
//
// bfdd needs no zebra for single-hop and multihop IP sessions; it runs as the frr user (FRR's default), so its
// directory is owned by frr. A bfdd that outlived a speaker (kill -9) is adopted from its pid file, so a
// speaker restart does not flap BFD toward the router.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { deadline, realClock, sleep, type Clock } from '../../edge/clock.ts';
import type { BfdProfile } from '../../src/config/model.ts';

const execFileAsync = promisify(execFile);

/** BfdPeerConfig is one BFD session the responder keeps: the router's address, ours, hops, and the profile. */
export interface BfdPeerConfig {
  peer: string;
  /** local: our address on the session (the BGP source address); bfdd picks one when unset. */
  local?: string;
  multihop: boolean;
  profile: BfdProfile;
}

/** BfdLogger is the structured logger the responder writes to (pino-compatible). */
export interface BfdLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** BfddOptions configure a BfddResponder. */
export interface BfddOptions {
  /** dir holds bfdd's vty socket, control socket, pid file and log; unique per node (and network namespace). */
  dir: string;
  log: BfdLogger;
  /** bfdd: the daemon (default /usr/lib/frr/bfdd); vtysh: the shell (default /usr/bin/vtysh). */
  bfdd?: string;
  vtysh?: string;
  /** user the daemon runs as and owns dir (default "frr", FRR's own default). */
  user?: string;
  /** clock times the start and stop waits and the restart pause (default the real clock). */
  clock?: Clock;
}

/** BfdSessionState is one session as bfdd reports it (`show bfd peers json`). */
export interface BfdSessionState {
  peer: string;
  local?: string;
  multihop: boolean;
  status: string;
}

/** bfdKey identifies a bfdd peer the way its `peer` command does (address, multihop, local address). */
export function bfdKey(p: Pick<BfdPeerConfig, 'peer' | 'local' | 'multihop'>): string {
  return `${p.peer}${p.multihop ? ' multihop' : ''}${p.local !== undefined ? ` local-address ${p.local}` : ''}`;
}

/**
 * bfdProfileCommands renders one BFDProfile as bfdd profile lines (inside `bfd`). Every knob is written, so
 * re-applying a profile sets it back to exactly the BFDProfile's values.
 */
export function bfdProfileCommands(profile: BfdProfile): string[] {
  return [
    `profile ${profile.name}`,
    `detect-multiplier ${profile.detectMultiplier}`,
    `receive-interval ${profile.receiveInterval}`,
    `transmit-interval ${profile.transmitInterval}`,
    `echo receive-interval ${profile.echoInterval}`,
    `echo transmit-interval ${profile.echoInterval}`,
    profile.echoMode ? 'echo-mode' : 'no echo-mode',
    profile.passiveMode ? 'passive-mode' : 'no passive-mode',
    `minimum-ttl ${profile.minimumTtl}`,
    'exit',
  ];
}

/**
 * BfddResponder runs one bfdd and keeps its peers equal to the last apply(). Cost per apply: one vtysh run
 * when something changed, none otherwise.
 */
export class BfddResponder {
  readonly #o: BfddOptions;
  #child: ChildProcess | undefined;
  #adoptedPid: number | undefined;
  #stopping = false;
  /** applied: peer key → profile name; profiles: name → rendered lines. */
  #applied = new Map<string, string>();
  #profiles = new Map<string, string>();
  #desired: readonly BfdPeerConfig[] = [];
  #started: Promise<void> | undefined;

  readonly #clock: Clock;

  constructor(options: BfddOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
  }

  /** available reports whether bfdd and vtysh are installed. */
  static available(options: Pick<BfddOptions, 'bfdd' | 'vtysh'> = {}): boolean {
    return existsSync(options.bfdd ?? '/usr/lib/frr/bfdd') && existsSync(options.vtysh ?? '/usr/bin/vtysh');
  }

  /**
   * sweep removes directories named `<prefix>*` under parent whose bfdd is gone (no pid file, or its process
   * is dead) and that are older than a minute (so a bfdd just starting is left alone): leftovers of speakers
   * that were killed. Returns the directories removed.
   */
  static sweep(parent: string, prefix: string): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
      names = readdirSync(parent).filter((n) => n.startsWith(prefix));
    } catch {
      return removed;
    }
    for (const name of names) {
      const dir = join(parent, name);
      try {
        // wall time on purpose: compared with the directory's mtime, which the file system stamps in wall time
        if (Date.now() - statSync(dir).mtimeMs < 60_000) continue;
        const pid = readPid(join(dir, 'bfdd.pid'));
        if (pid !== undefined && alive(pid)) continue;
        rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      } catch {
        /* raced with its owner: leave it */
      }
    }
    return removed;
  }

  get #pidFile(): string {
    return join(this.#o.dir, 'bfdd.pid');
  }

  /** pid is bfdd's process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : this.#adoptedPid;
  }

  /** apply makes bfdd's peers and profiles equal to `peers`, starting bfdd the first time. */
  async apply(peers: readonly BfdPeerConfig[]): Promise<void> {
    this.#desired = peers;
    if (this.#stopping || (peers.length === 0 && this.#started === undefined)) return;
    this.#started ??= this.#start();
    await this.#started;
    await this.#converge();
  }

  /** sessions reads bfdd's sessions (for logs and tests). */
  async sessions(): Promise<BfdSessionState[]> {
    const out = await this.#vtysh(['show bfd peers json']);
    const list = JSON.parse(out || '[]') as Array<Record<string, unknown>>;
    return list.map((s) => ({
      peer: String(s['peer']),
      ...(typeof s['local'] === 'string' ? { local: s['local'] } : {}),
      multihop: s['multihop'] === true,
      status: String(s['status']),
    }));
  }

  /** retire stops restarting bfdd when it exits (the speaker is shutting down); stop() ends it. */
  retire(): void {
    this.#stopping = true;
  }

  /** stop ends bfdd (it tells each router "admin down" on the way out) and removes its directory. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#started?.catch(() => undefined);
    const pid = this.pid;
    if (pid !== undefined) await stopProcess(pid, this.#clock);
    if (this.#started !== undefined) rmSync(this.#o.dir, { recursive: true, force: true });
  }

  async #start(): Promise<void> {
    const dir = this.#o.dir;
    const old = readPid(this.#pidFile);
    if (old !== undefined && alive(old) && existsSync(join(dir, 'bfdd.vty'))) {
      try {
        await this.#vtysh(['show bfd peers json']);
        this.#adoptedPid = old;
        this.#o.log.info(
          { pid: old, dir },
          'bfdd: adopting the BFD responder a previous speaker left running',
        );
        // unknown state: re-apply every profile and remove peers we do not want
        for (const s of await this.sessions()) this.#applied.set(bfdKey(s), '?');
        return;
      } catch {
        /* not answering: start a new one */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const user = this.#o.user ?? 'frr';
    const ids = await idsOf(user);
    if (ids) chownSync(dir, ids.uid, ids.gid);
    const conf = join(dir, 'bfdd.conf');
    writeFileSync(conf, '');
    if (ids) chownSync(conf, ids.uid, ids.gid);
    this.#spawn();
    const open = deadline(this.#clock, 10_000);
    while (open()) {
      if (existsSync(join(dir, 'bfdd.vty'))) return;
      if (this.#child?.exitCode !== null && this.#child?.exitCode !== undefined) break;
      await sleep(this.#clock, 50);
    }
    throw new Error(`bfdd did not start in "${dir}" (see ${join(dir, 'bfdd.log')})`);
  }

  #spawn(): void {
    const dir = this.#o.dir;
    const argv = [
      '--vty_socket',
      dir,
      '--bfdctl',
      join(dir, 'bfdd.sock'),
      '-z',
      join(dir, 'zserv.api'), // no zebra: bfdd works without it for IP sessions
      '-i',
      this.#pidFile,
      '-f',
      join(dir, 'bfdd.conf'),
      '-P',
      '0',
      '-u',
      this.#o.user ?? 'frr',
      '--log',
      `file:${join(dir, 'bfdd.log')}`,
    ];
    const child = spawn(this.#o.bfdd ?? '/usr/lib/frr/bfdd', argv, { stdio: 'ignore' });
    this.#child = child;
    this.#o.log.info({ pid: child.pid, dir }, 'bfdd started');
    child.once('error', (e) => this.#o.log.warn({ err: e.message }, 'bfdd could not be started'));
    child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      this.#o.log.warn({ code, signal }, 'bfdd exited; restarting it');
      this.#applied.clear();
      this.#profiles.clear();
      // a speaker shutting down (retire/stop within the pause) must not leave a new bfdd behind
      this.#started = sleep(this.#clock, 500).then(() => (this.#stopping ? undefined : this.#start()));
      void this.#started
        .then(() => (this.#stopping ? undefined : this.#converge()))
        .catch((e: unknown) => this.#o.log.warn({ err: (e as Error).message }, 'bfdd restart failed'));
    });
  }

  async #converge(): Promise<void> {
    const lines: string[] = [];
    const profiles = new Map<string, string>();
    for (const p of this.#desired) profiles.set(p.profile.name, bfdProfileCommands(p.profile).join('\n'));
    for (const [name, text] of profiles)
      if (this.#profiles.get(name) !== text) lines.push(...text.split('\n'));
    const wanted = new Map(this.#desired.map((p) => [bfdKey(p), p.profile.name]));
    for (const [key] of this.#applied) if (!wanted.has(key)) lines.push(`no peer ${key}`);
    for (const [key, profile] of wanted) {
      if (this.#applied.get(key) !== profile) lines.push(`peer ${key}`, `profile ${profile}`, 'exit');
    }
    // profiles no peer uses any more (after the peers that used them are gone)
    for (const name of this.#profiles.keys()) if (!profiles.has(name)) lines.push(`no profile ${name}`);
    if (lines.length === 0) return;
    await this.#vtysh(['configure terminal', 'bfd', ...lines]);
    this.#applied = wanted;
    this.#profiles = profiles;
    this.#o.log.info({ peers: [...wanted.keys()], profiles: [...profiles.keys()] }, 'bfdd configured');
  }

  async #vtysh(commands: readonly string[]): Promise<string> {
    const argv = ['--vty_socket', this.#o.dir, '-d', 'bfdd', ...commands.flatMap((c) => ['-c', c])];
    try {
      const { stdout } = await execFileAsync(this.#o.vtysh ?? '/usr/bin/vtysh', argv, { timeout: 10_000 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `bfdd configuration failed (${commands.join(' / ')}): ${err.stderr || err.stdout || err.message}`,
        { cause: e },
      );
    }
  }
}

async function stopProcess(pid: number, clock: Clock): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    if (!alive(pid)) return;
    await sleep(clock, 50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function idsOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const uid = Number((await execFileAsync('id', ['-u', user])).stdout.trim());
    const gid = Number((await execFileAsync('id', ['-g', user])).stdout.trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}
