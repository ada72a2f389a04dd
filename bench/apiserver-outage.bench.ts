// API server outage: how much a controller writes to its log while the API server is down. Starts a real etcd +
// kube-apiserver + kube-controller-manager, a leader and a standby ironlb-controller, then stops the API server
// for --outage seconds and starts it again with the same command line. Prints, per controller, the warnings
// (and errors) it logged during the outage and until it saw the API server back, grouped by message, and the
// "API server back after …" line. Not a test: no thresholds. Every process it starts is stopped at the end.
//   node bench/apiserver-outage.bench.ts [--outage 60]
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { start, stopPid, waitFor } from '../test/harness/exec.ts';
import { ControlPlane } from '../test/harness/controlplane.ts';
import { onShutdown } from './support/shutdown.ts';
import { clients, createPool, ensureNamespace } from '../test/harness/kube.ts';
import {
  removeControllerLogs,
  startController,
  stopAllControllers,
  type ControllerProcess,
} from '../test/integration/support/controller.ts';

const { values: flags } = parseArgs({ options: { outage: { type: 'string', default: '60' } } });
const outageS = Number(flags.outage);
if (!(outageS > 0 && outageS <= 600)) {
  console.error('Usage: node bench/apiserver-outage.bench.ts [--outage 60]');
  process.exit(2);
}
const CONFIG_NS = 'ironlb-outage';
const log = (msg: string) => console.error(`[outage] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line {
  level: string;
  msg: string;
  time: string;
}

function lines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        return undefined;
      }
    })
    .filter((l): l is Line => l !== undefined);
}

let cp: ControlPlane | undefined;
const dirs = new Set<string>();
const cleanup = onShutdown(
  async () => {
    await stopAllControllers();
    if (cp) await cp.stop();
    cp = undefined;
    removeControllerLogs();
  },
  { log, dirs },
);

try {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ironlb-outage-'));
  dirs.add(dir);
  cp = await ControlPlane.start({ dir, log });
  const c = clients(cp.kubeconfig);
  await ensureNamespace(c, CONFIG_NS);
  await createPool(c, CONFIG_NS, 'outage', ['192.0.2.0/24']);
  const info = ['--log-level', 'info'];
  const leader: ControllerProcess = await startController({
    kubeconfig: cp.kubeconfig,
    namespace: CONFIG_NS,
    identity: 'leader',
    waitLeader: true,
    extraArgs: info,
  });
  const standby: ControllerProcess = await startController({
    kubeconfig: cp.kubeconfig,
    namespace: CONFIG_NS,
    identity: 'standby',
    extraArgs: info,
  });
  await sleep(2000);
  const argv = readFileSync(`/proc/${cp.state.pids.apiserver}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const apiLog = join(cp.state.dir, 'logs/kube-apiserver.log');
  const before = new Map([leader, standby].map((p) => [p.identity, lines(p.log).length]));
  log(`stopping kube-apiserver (pid ${cp.state.pids.apiserver}) for ${outageS} s`);
  const t0 = Date.now();
  await stopPid(cp.state.pids.apiserver, 3000);
  await sleep(outageS * 1000);
  const api = start(argv, { log: apiLog });
  cp.state.pids.apiserver = api.pid ?? -1;
  log(
    `kube-apiserver started again (pid ${cp.state.pids.apiserver}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  await waitFor(
    'the standby to see the API server back',
    () => lines(standby.log).some((l) => l.msg.startsWith('API server back')),
    { timeoutMs: 120_000, intervalMs: 500, log: standby.log },
  );
  await sleep(3000);
  console.log(
    `API server stopped for ${outageS} s; warnings and errors each controller logged from then on:`,
  );
  for (const p of [leader, standby]) {
    const window = lines(p.log).slice(before.get(p.identity) ?? 0);
    const loud = window.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal');
    const byMsg = new Map<string, number>();
    for (const l of loud) byMsg.set(`${l.level}: ${l.msg}`, (byMsg.get(`${l.level}: ${l.msg}`) ?? 0) + 1);
    const back = window.find((l) => l.msg.startsWith('API server back'));
    console.log(`  ${p.identity}: ${loud.length} warning/error lines${back ? `; "${back.msg}"` : ''}`);
    for (const [m, n] of byMsg) console.log(`    ${String(n).padStart(5)} × ${m}`);
    for (const l of window.filter((x) => x.msg.startsWith('API server')))
      console.log(`    ${l.time} ${l.level}: ${l.msg}`);
  }
} finally {
  await cleanup();
}
