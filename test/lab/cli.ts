// The lab's command line: `up` builds the local lab and deploys the echo app, `down` removes everything,
// `status` shows what runs. State, logs and kubeconfigs live in .lab/ (override with IRONLB_LAB_DIR).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LAB, Lab, labNamespaces } from '../harness/netlab.ts';
import { k8sBin, repoRoot } from '../harness/paths.ts';
import {
  demonstrate,
  demonstrateGateway,
  demonstrateIngress,
  deployEcho,
  deployEchoGateway,
  deployEchoIngress,
  deployIngress,
} from './deploy.ts';
import { IRONLB_NAMESPACE, demonstrateWebhook, installIronLB } from './install.ts';

const USAGE = `Usage: node test/lab/cli.ts <up|down|status> [options]   (make lab / make lab-down / make lab-status)

  up       remove leftovers, build the lab (control plane + ${3} nodes in network namespaces + FRR router),
           install IronLB from its image and manifests (kubectl apply -k test/lab/overlay: deploy/ + the
           lab's image, pools and peers), run the echo app (Deployment "demo/echo", 3 pods, Services
           "demo/echo" and "demo/echo-bgp" of type LoadBalancer), the Ingress "demo/echo" for
           echo.lab.example and the Gateway "demo/web" with HTTPRoute "demo/echo" for
           echo.gateway.lab.example, show them working, and leave it running
  down     stop every lab process and delete every lab namespace
  status   list the lab's namespaces and objects

Options:
  --dir DIR      state directory (default .lab, or $IRONLB_LAB_DIR)
  --prefix P     namespace name prefix (default "ironlb-")
  --api-port N   host port of the API server forwarder on 127.0.0.1 (default 16443, or $IRONLB_LAB_API_PORT)
  --crds DIR     CRDs to install (default deploy/crds)
  --no-ironlb    do not install IronLB (the echo Services stay <pending>)
  -h, --help     this text`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string', default: process.env.IRONLB_LAB_DIR ?? join(repoRoot, '.lab') },
    prefix: { type: 'string', default: 'ironlb-' },
    'api-port': { type: 'string', default: process.env.IRONLB_LAB_API_PORT ?? '16443' },
    'no-ironlb': { type: 'boolean', default: false },
    crds: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const cmd = positionals[0];
if (values.help || !cmd) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}
if (process.getuid?.() !== 0) {
  console.error('lab: network namespaces need root: run as root');
  process.exit(1);
}
const log = (m: string) => console.log(m);
const dir = values.dir;

async function main(): Promise<void> {
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      const lab = await Lab.up({
        dir,
        prefix: values.prefix,
        log,
        crdDir: values.crds,
        hostApiPort: Number(values['api-port']),
      });
      let demo = '';
      let ingressDemo = '';
      let gatewayDemo = '';
      let bgpDemo = '';
      let webhookDemo = '';
      if (!values['no-ironlb']) await installIronLB(lab, { log });
      await deployEcho(lab, { log });
      if (!values['no-ironlb']) {
        demo = await demonstrate(lab);
        webhookDemo = await demonstrateWebhook(lab);
        await deployIngress(lab, { log });
        await deployEchoIngress(lab);
        ingressDemo = await demonstrateIngress(lab);
        await deployEchoGateway(lab);
        gatewayDemo = await demonstrateGateway(lab);
        // BGP sessions take 5-10 s to come up (gobgpd's first connect), BFD a moment more
        bgpDemo = await demonstrate(lab, { service: 'echo-bgp', from: 'ext', timeoutMs: 60_000 });
      }
      const pods = await lab.kubectl(['get', 'pods', '-n', IRONLB_NAMESPACE, '-o', 'wide']);
      const kc = lab.state.hostKubeconfig;
      const kubectl = k8sBin('kubectl');
      console.log(`
lab: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s

${pods.trimEnd()}
${[demo, bgpDemo, ingressDemo, gatewayDemo, webhookDemo]
  .filter(Boolean)
  .map((l) => `\n  ${l}`)
  .join('')}

  export KUBECONFIG=${kc}
  ${kubectl} get nodes,pods,svc -A
  ip netns exec ${lab.ns('client')} curl -s http://<EXTERNAL-IP>/   # from the LAN client (L2 addresses)
  ip netns exec ${lab.ns('ext')} curl -s http://<EXTERNAL-IP>/      # from behind the router (BGP addresses)
  ip netns exec ${lab.ns('client')} curl -s -H 'Host: echo.lab.example' http://<ironlb-ingress EXTERNAL-IP>/   # the ingress
  ip netns exec ${lab.ns('node-1')} bash                           # a shell on a node
  ip netns exec ${lab.ns('router')} vtysh --vty_socket ${lab.frrDir} -c 'show bgp summary'
  ip netns exec ${lab.ns('client')} curl -s -H 'Host: echo.gateway.lab.example' http://<Gateway demo/web address>/   # the Gateway
  node bin/ironlb.ts why demo/echo --kubeconfig ${kc}   # why pending / who announces
  node bin/ironlb.ts why gateway/demo/web --kubeconfig ${kc}   # a Gateway: address, announcers, listeners, routes
  pools: L2 ${LAB.l2Pool} and ${LAB.l2PoolV6}; BGP ${LAB.bgpPool}
  ${kubectl} -n ${IRONLB_NAMESPACE} logs ds/ironlb-speaker -c speaker   # IronLB's logs (controller: deploy/ironlb-controller)
  logs:  ${join(dir, 'logs')}
  remove everything with: make lab-down`);
      return;
    }
    case 'down': {
      const removed = await Lab.cleanup({ dir, prefix: values.prefix });
      console.log(`lab: removed ${removed.length} namespaces; left: ${labNamespaces(values.prefix).length}`);
      return;
    }
    case 'status': {
      const names = labNamespaces(values.prefix);
      console.log(`namespaces (${names.length}): ${names.join(' ') || '-'}`);
      if (existsSync(join(dir, 'lab.json'))) {
        const lab = Lab.attach(dir);
        console.log(await lab.kubectl(['get', 'nodes,pods,svc', '-A', '-o', 'wide']));
        if (existsSync(join(dir, 'logs'))) console.log(`logs: ${readdirSync(join(dir, 'logs')).join(' ')}`);
      }
      return;
    }
    default:
      console.error(`lab: unknown command "${cmd}"\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((e: unknown) => {
  console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
