// The e2e project builds its own lab (namespaces prefixed "ironlb-e2e-", so a running `make lab` is left
// alone), deploys nothing on top, and removes it all afterwards. Tests attach with Lab.attach(inject('labDir')).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { Lab } from '../harness/netlab.ts';
import { repoRoot } from '../harness/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    labDir: string;
  }
}

/** E2E_PREFIX names the e2e lab's namespaces (IRONLB_E2E_PREFIX overrides, so two runs can coexist). */
export const E2E_PREFIX = process.env.IRONLB_E2E_PREFIX ?? 'ironlb-e2e-';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = join(repoRoot, '.lab', E2E_PREFIX.replace(/-$/, ''));
  mkdirSync(dir, { recursive: true });
  const lab = await Lab.up({
    dir,
    prefix: E2E_PREFIX,
    hostApiPort: Number(process.env.IRONLB_E2E_API_PORT ?? 16444),
    log: (m) => console.log(m),
  });
  project.provide('labDir', dir);
  return async () => {
    if (process.env.IRONLB_KEEP_LAB) return;
    await lab.down();
  };
}
