// Golden files for the rendered HAProxy configuration and runtime ops (src/ingress/testdata/), reviewed like
// code. Regenerate with UPDATE_GOLDEN=1 npx vitest run --project unit ingress/golden.test.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRouteTable } from '../src/ingress/build.ts';
import { fakeResolver, ing, OUR_CLASS } from '../test/support/ingress-fixtures.ts';
import { CONFIG_FILE, CRT_LIST, MAPS, planHaproxy, type HaproxyOptions } from '../src/ingress/haproxy.ts';
import type { IngressObject } from '../src/ingress/types.ts';

const DIR = join(import.meta.dirname, '..', 'src', 'ingress', 'testdata');
const OPTS: HaproxyOptions = {
  dir: '/run/ironlb',
  httpBinds: ['0.0.0.0:80', '[::]:80 v6only'],
  httpsBinds: ['0.0.0.0:443'],
  threads: 2,
};

// A missing golden file fails the test (it would otherwise pass by writing what it checks); UPDATE_GOLDEN=1
// writes it, to be reviewed like code.
function golden(name: string, actual: string): void {
  const file = join(DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(existsSync(file), `golden file "${name}" is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(
    true,
  );
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const ingresses: IngressObject[] = [
  ing('shop', {
    ns: 'shop',
    created: '2024-01-01T00:00:00Z',
    rules: [
      {
        host: 'shop.example.com',
        paths: [
          ['/', 'Prefix', 'web'],
          ['/api', 'Prefix', 'api'],
          ['/healthz', 'Exact', 'web'],
        ],
      },
      { host: '*.shop.example.com', paths: [['/', 'Prefix', 'tenant']] },
    ],
    tls: [{ hosts: ['shop.example.com', '*.shop.example.com'], secretName: 'shop-tls' }],
    defaultBackend: 'web',
  }),
  ing('legacy', {
    ns: 'shop',
    created: '2024-01-02T00:00:00Z',
    annotations: {
      'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
      'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8, 2001:db8::/32',
    },
    rules: [{ host: 'shop.example.com', paths: [['/legacy(/|$)(.*)', 'ImplementationSpecific', 'old']] }],
  }),
  ing('open', {
    ns: 'misc',
    created: '2024-01-03T00:00:00Z',
    rules: [{ paths: [['/status', 'Prefix', 'status']] }],
  }),
];

describe('HAProxy rendering (golden)', () => {
  const table = buildRouteTable({
    ingressClasses: [OUR_CLASS],
    ingresses,
    resolver: fakeResolver({ secrets: ['shop/shop-tls'] }),
  });
  const plan = planHaproxy(table, OPTS);

  it('renders haproxy.cfg', () => golden('shop.haproxy.cfg', plan.files[CONFIG_FILE] ?? ''));

  it('renders the maps and the crt-list', () => {
    const text = [...Object.values(MAPS), CRT_LIST].map((f) => `# ${f}\n${plan.files[f] ?? ''}`).join('\n');
    golden('shop.maps.txt', text);
  });

  it('plans runtime ops for an edit (new path and Service, endpoint change, allow-list change)', () => {
    const edited = ingresses.map((i) =>
      i.metadata?.name === 'legacy'
        ? {
            ...i,
            metadata: {
              ...i.metadata,
              annotations: {
                ...i.metadata.annotations,
                'nginx.ingress.kubernetes.io/whitelist-source-range': '10.1.0.0/16',
              },
            },
          }
        : i,
    );
    edited.push(
      ing('blog', {
        ns: 'blog',
        created: '2024-02-01T00:00:00Z',
        rules: [{ host: 'blog.example.com', paths: [['/', 'Prefix', 'blog']] }],
      }),
    );
    const next = planHaproxy(
      buildRouteTable({
        ingressClasses: [OUR_CLASS],
        ingresses: edited,
        resolver: fakeResolver({ secrets: ['shop/shop-tls'] }),
      }),
      { ...OPTS, previous: plan.state },
    );
    expect(next.reload).toBeUndefined();
    golden('shop.update-ops.json', `${JSON.stringify(next.ops, null, 2)}\n`);
  });
});
