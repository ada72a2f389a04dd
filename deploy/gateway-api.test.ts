// deploy/gateway-api/ holds upstream's Gateway API CRDs, vendored unchanged by scripts/vendor-gateway-api.sh.
// These checks keep the vendored copy whole: one release everywhere, every file listed by its kustomization,
// the kinds the Gateway controller serves present and served at the versions it reads.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'gateway-api');
const version = readFileSync(join(dir, 'VERSION'), 'utf8').trim();

interface Doc {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: { group?: string; names?: { kind?: string }; versions?: { name: string; served: boolean }[] };
}

const files = readdirSync(join(dir, 'standard')).map((f) => `standard/${f}`);
const docs = files.flatMap((f) =>
  parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => ({ file: f, doc: d.toJS() as Doc })),
);

describe('deploy/gateway-api (vendored upstream CRDs)', () => {
  it('is one v1.6 release, recorded in VERSION and in every object', () => {
    expect(version).toMatch(/^v1\.6\.\d+$/);
    for (const { file, doc } of docs) {
      if (doc === null) continue;
      expect(doc.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version'], file).toBe(version);
      expect(doc.metadata?.annotations?.['gateway.networking.k8s.io/channel'], file).toBe('standard');
    }
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).toMatch(/^# Generated upstream/);
  });

  it('its kustomization lists every file', () => {
    const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as {
      resources: string[];
    };
    expect([...k.resources].sort()).toEqual([...files].sort());
  });

  it('serves the kinds and versions the Gateway controller reads', () => {
    const served = (kind: string): string[] =>
      docs
        .filter((d) => d.doc?.kind === 'CustomResourceDefinition' && d.doc.spec?.names?.kind === kind)
        .flatMap((d) => (d.doc.spec?.versions ?? []).filter((v) => v.served).map((v) => v.name));
    for (const kind of ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute'])
      expect(served(kind), kind).toContain('v1');
    expect(served('ReferenceGrant')).toContain('v1beta1');
  });
});
