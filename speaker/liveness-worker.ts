// The liveness sender's thread (speaker/liveness-sender.ts, WorkerSender): a HeartbeatSender on the wall clock
// sending UDP from an ephemeral port to every peer's liveness port, driven by the main thread's messages.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { realClock } from '../edge/clock.ts';
import { HeartbeatSender, type WorkerData, type WorkerMessage } from './liveness-sender.ts';

const data = workerData as WorkerData;
const sockets: Partial<Record<'udp4' | 'udp6', Socket>> = {};
const socket = (type: 'udp4' | 'udp6'): Socket => {
  let s = sockets[type];
  if (!s) {
    s = createSocket(type);
    // a lost or refused heartbeat is what the peers' timeout is for
    s.on('error', () => {});
    sockets[type] = s;
  }
  return s;
};
const sender = new HeartbeatSender({
  ...data,
  ...(data.key ? { key: Buffer.from(data.key) } : {}),
  clock: realClock,
  send: (datagram, address) => socket(isIPv6(address) ? 'udp6' : 'udp4').send(datagram, data.port, address),
});
sender.start();
parentPort?.on('message', (m: WorkerMessage) => {
  if (m.type === 'pulse') sender.pulse(m.state);
  else if (m.type === 'burst') sender.burst(m.n);
  else {
    sender.stop();
    for (const s of Object.values(sockets)) s.close();
    parentPort?.close();
  }
});
