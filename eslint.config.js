// ESLint flat config. The rule on src/** keeps the pure core free of I/O: no sockets, files, clocks,
// processes or API clients (CONVENTIONS.md, "A pure core, thin edges").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs',
  'fs/promises',
  'net',
  'dgram',
  'dns',
  'http',
  'https',
  'http2',
  'tls',
  'child_process',
  'cluster',
  'worker_threads',
  'os',
  'process',
  'timers',
  'timers/promises',
  'readline',
  'inspector',
];
const restricted = [
  ...ioModules.flatMap((m) => [m, `node:${m}`]),
  '@kubernetes/client-node',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  'raw-socket',
  'prom-client',
  'pino',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.lab/**', 'dist/**', 'speaker/native/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: restricted.map((name) => ({
            name,
            message: 'src/ is the pure core: do I/O in an edge (controller/, speaker/, ingress/)',
          })),
          patterns: [
            {
              group: ['../controller/*', '../speaker/*', '../../controller/*', '../../speaker/*'],
              message: 'src/ must not import edges',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/ is pure: pass values in' },
        { name: 'setTimeout', message: 'src/ is pure: no timers' },
        { name: 'setInterval', message: 'src/ is pure: no timers' },
        { name: 'fetch', message: 'src/ is pure: no network' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'src/ is pure: take the time as an argument' },
        { object: 'Math', property: 'random', message: 'src/ is pure: take randomness as an argument' },
      ],
    },
  },
);
