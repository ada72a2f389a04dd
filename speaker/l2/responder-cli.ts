// A standalone L2 responder on one interface, for tests and manual checks (not the speaker's entry point).
//   node speaker/l2/responder-cli.ts --interface va [--ip 192.0.2.77 ...] [--vlan 100]
// Announces every --ip at start. Reads commands on stdin, one per line: "announce IP", "claim IP",
// "withdraw IP", "quit". Writes one JSON object per line on stdout: ready, claim results, conflicts, counters.
// Needs root (AF_PACKET). Exits on SIGTERM/SIGINT/"quit", closing the socket.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { interfaceInfo, openPacketSocket } from '../native/index.ts';
import { L2Responder } from './responder.ts';

const { values } = parseArgs({
  options: {
    interface: { type: 'string' },
    ip: { type: 'string', multiple: true, default: [] },
    vlan: { type: 'string' },
  },
});
const emit = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const ifname = values.interface;
if (!ifname) {
  process.stderr.write('usage: responder-cli.ts --interface NAME [--ip ADDRESS ...] [--vlan ID]\n');
  process.exit(2);
}
const info = interfaceInfo(ifname);
const responder = new L2Responder({
  interfaceName: ifname,
  mac: info.mac,
  socket: openPacketSocket(ifname),
  vlan: values.vlan === undefined ? undefined : Number(values.vlan),
  counters: {
    requestReceived: (ip) => emit({ event: 'requestReceived', ip }),
    responseSent: (ip) => emit({ event: 'responseSent', ip }),
    gratuitousSent: (ip) => emit({ event: 'gratuitousSent', ip }),
    ignored: (reason) => emit({ event: 'ignored', reason }),
    sendFailed: (ip, error) => emit({ event: 'sendFailed', ip, error: String(error) }),
  },
  onConflict: (c) => emit({ event: 'conflict', ...c }),
});
for (const ip of values.ip) responder.announce(ip);

const stdin = createInterface({ input: process.stdin });
const quit = (): void => {
  responder.close();
  stdin.close();
  emit({ event: 'closed' });
};
stdin.on('line', (line) => {
  const [cmd, arg = ''] = line.trim().split(/\s+/);
  try {
    if (cmd === 'announce') responder.announce(arg);
    else if (cmd === 'withdraw') responder.withdraw(arg);
    else if (cmd === 'claim') void responder.claim(arg).then((r) => emit({ event: 'claim', ip: arg, ...r }));
    else if (cmd === 'quit') quit();
    else if (cmd) emit({ event: 'error', error: `Unknown command "${cmd}"` });
  } catch (err) {
    emit({ event: 'error', error: String(err) });
  }
});
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
emit({
  event: 'ready',
  interface: ifname,
  mac: info.mac,
  index: info.index,
  announced: [...responder.announced],
});
