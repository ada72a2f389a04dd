import { defineConfig } from 'vitest/config';

// Three projects: unit (pure core and edges with fakes, seconds), integration (a real etcd + kube-apiserver
// + kube-controller-manager started once per run), e2e (the network-namespace lab; one file at a time).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'controller/**/*.test.ts',
            'speaker/**/*.test.ts',
            'ingress/**/*.test.ts',
            'edge/**/*.test.ts',
            'deploy/**/*.test.ts',
            'bin/**/*.test.ts',
            'test/harness/**/*.test.ts',
            'test/lab/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          // the real control plane (test/integration) and real components in network namespaces (*.int.test.ts)
          include: [
            'test/integration/**/*.test.ts',
            '{src,edge,controller,speaker,ingress,deploy}/**/*.int.test.ts',
          ],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
