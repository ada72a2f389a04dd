// Typed wrapper around the AF_PACKET addon (src/packet_socket.c). Build it first with speaker/native/build.sh.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { macFromBytes } from '../../src/packet/address.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from '../../src/packet/ethernet.ts';

/** Handle is the opaque socket handle the addon hands out. */
type Handle = { readonly __brand: 'ironlbPacketHandle' };

/** NativeBinding is the addon's raw surface; use openPacketSocket and interfaceInfo instead. */
export interface NativeBinding extends HeartbeatBinding {
  interfaceInfo(name: string): {
    index: number;
    mac: Uint8Array;
    mtu: number;
    up: boolean;
    ethernet: boolean;
    noArp: boolean;
  };
  open(name: string, etherTypes: number[], ndpOnly: boolean): Handle;
  send(handle: Handle, frame: Uint8Array): number;
  startReceive(handle: Handle, cb: (frame: Uint8Array, pkttype: number) => void): void;
  stopReceive(handle: Handle): void;
  close(handle: Handle): void;
}

/** HeartbeatHandle is the opaque handle of a heartbeat sender thread. */
export type HeartbeatHandle = { readonly __brand: 'ironlbHeartbeatHandle' };

/**
 * HeartbeatBinding is the addon's heartbeat sender thread (src/heartbeat.c): a native thread that sends, one
 * every interval while `periodic`, the numbered datagrams of the batch it was last given, to every peer's UDP
 * port. It never runs JavaScript, so it keeps sending while the main thread is busy, and it stops when the
 * batch runs out. Used by NativeSender (speaker/liveness-sender.ts).
 */
export interface HeartbeatBinding {
  /** heartbeatOpen starts the thread (sending nothing until a batch is loaded). */
  heartbeatOpen(port: number, intervalMs: number): HeartbeatHandle;
  /**
   * heartbeatLoad replaces the batch: datagrams[i] is number firstSeq + i; numbers at or below the last one
   * sent are skipped. Returns the last number sent before this call (0: none yet; numbers start at 1).
   */
  heartbeatLoad(
    handle: HeartbeatHandle,
    firstSeq: number,
    datagrams: Uint8Array[],
    peers: string[],
    periodic: boolean,
  ): number;
  /** heartbeatLastSent is the last number sent (0: none yet). */
  heartbeatLastSent(handle: HeartbeatHandle): number;
  /** heartbeatSendNow sends the next n datagrams of the batch at once; returns how many there were. */
  heartbeatSendNow(handle: HeartbeatHandle, n: number): number;
  /** heartbeatClose stops and joins the thread; idempotent. */
  heartbeatClose(handle: HeartbeatHandle): void;
}

/** ADDON_PATH is where build.sh puts the compiled addon. */
export const ADDON_PATH = fileURLToPath(new URL('./build/Release/ironlb_packet.node', import.meta.url));

let cached: NativeBinding | undefined;

/**
 * loadNative loads the compiled addon once (later calls return the same binding). It throws an Error naming the
 * path and the build script when the addon has not been built or cannot load.
 */
export function loadNative(path: string = ADDON_PATH): NativeBinding {
  if (cached && path === ADDON_PATH) return cached;
  try {
    const binding = createRequire(import.meta.url)(path) as NativeBinding;
    if (path === ADDON_PATH) cached = binding;
    return binding;
  } catch (cause) {
    throw new Error(`Cannot load the packet socket addon "${path}": run speaker/native/build.sh`, { cause });
  }
}

/** InterfaceInfo describes a network interface: index, canonical MAC, MTU and flags. */
export interface InterfaceInfo {
  name: string;
  index: number;
  mac: string;
  mtu: number;
  up: boolean;
  /** ethernet: the link type is Ethernet (ARPHRD_ETHER); only then do ARP and NDP answers make sense. */
  ethernet: boolean;
  noArp: boolean;
}

/** interfaceInfo reads an interface's index, MAC, MTU and flags; it throws an Error with code ENODEV if absent. */
export function interfaceInfo(name: string, binding: NativeBinding = loadNative()): InterfaceInfo {
  const raw = binding.interfaceInfo(name);
  return {
    name,
    index: raw.index,
    mac: macFromBytes(raw.mac),
    mtu: raw.mtu,
    up: raw.up,
    ethernet: raw.ethernet,
    noArp: raw.noArp,
  };
}

/** PACKET_OUTGOING is the pkttype of frames this host sent (the addon already drops them). */
export const PACKET_OUTGOING = 4;

/** PacketSocketOptions chooses the EtherTypes to receive (default ARP and IPv6) and whether IPv6 is NDP-only. */
export interface PacketSocketOptions {
  etherTypes?: readonly number[];
  /** ndpOnly (default true) narrows IPv6 in the kernel filter to ICMPv6 NS/NA, so data traffic never reaches JS. */
  ndpOnly?: boolean;
  binding?: NativeBinding;
}

/**
 * PacketSocket is a raw AF_PACKET socket bound to one interface, in all-multicast mode. Receiving runs on the
 * main thread through a libuv poll handle; close() is idempotent and also stops receiving. An active receiver
 * keeps the process alive until closed.
 */
export class PacketSocket {
  readonly interfaceName: string;
  #binding: NativeBinding;
  #handle: Handle;
  #closed = false;

  constructor(interfaceName: string, options: PacketSocketOptions = {}) {
    this.interfaceName = interfaceName;
    this.#binding = options.binding ?? loadNative();
    this.#handle = this.#binding.open(
      interfaceName,
      [...(options.etherTypes ?? [ETHERTYPE_ARP, ETHERTYPE_IPV6])],
      options.ndpOnly ?? true,
    );
  }

  /** send writes one complete Ethernet frame and returns the bytes sent; it throws (code EAGAIN, ENOBUFS…) on failure. */
  send(frame: Uint8Array): number {
    return this.#binding.send(this.#handle, frame);
  }

  /** receive calls onFrame for every frame received (a fresh Buffer each time); a second call replaces the first. */
  receive(onFrame: (frame: Uint8Array, pkttype: number) => void): void {
    this.#binding.startReceive(this.#handle, onFrame);
  }

  /** stopReceiving stops calling the receive callback; the socket stays open for sending. */
  stopReceiving(): void {
    if (!this.#closed) this.#binding.stopReceive(this.#handle);
  }

  /** close releases the socket and its all-multicast membership; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#binding.close(this.#handle);
  }

  /** closed reports whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }
}

/** openPacketSocket opens a PacketSocket on an interface (see PacketSocket); it throws when the interface is missing or root is lacking. */
export function openPacketSocket(interfaceName: string, options: PacketSocketOptions = {}): PacketSocket {
  return new PacketSocket(interfaceName, options);
}
