// Static checks of everything under deploy/: the CRD schemas are structural and strict, the examples use
// only fields the schemas define (and would pass their simple checks), printer columns point at real
// fields, the kustomization lists every manifest, RBAC and the workloads agree, and the speaker asks for
// no capability beyond NET_RAW and NET_ADMIN. The API server's own verdict (CEL rules included) is
// checked by deploy/crds.int.test.ts against a real kube-apiserver.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const deployDir = dirname(fileURLToPath(import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

interface Manifest {
  file: string;
  doc: Obj;
}

/** Schema is the subset of a JSONSchemaProps these checks read. */
interface Schema {
  type?: string;
  format?: string;
  description?: string;
  default?: Json;
  enum?: Json[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  required?: string[];
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-validations'?: {
    rule: string;
    message?: string;
    messageExpression?: string;
    fieldPath?: string;
  }[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: { openAPIV3Schema: Schema };
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
  subresources?: Obj;
}

interface Crd {
  file: string;
  name: string;
  group: string;
  kind: string;
  plural: string;
  versions: CrdVersion[];
  conversion?: { strategy: string };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    // gateway-api/ is upstream's generated YAML (scripts/vendor-gateway-api.sh), checked by its own test.
    if (statSync(p).isDirectory())
      return name === 'node_modules' || name === 'gateway-api' ? [] : yamlFiles(p);
    return name.endsWith('.yaml') || name.endsWith('.yml') ? [p] : [];
  });
}

function load(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((d) => {
    if (d.errors.length > 0)
      throw new Error(`${relative(deployDir, file)}: ${d.errors.map((e) => e.message).join('; ')}`);
    const value = d.toJS() as Json;
    return value === null ? [] : [value as Obj];
  });
}

const manifests: Manifest[] = yamlFiles(deployDir).flatMap((file) =>
  load(file).map((doc) => ({ file: relative(deployDir, file), doc })),
);

const crds: Crd[] = manifests
  .filter((m) => m.doc.kind === 'CustomResourceDefinition')
  .map((m) => {
    const spec = m.doc.spec as unknown as {
      group: string;
      names: { kind: string; plural: string };
      versions: CrdVersion[];
      conversion?: { strategy: string };
    };
    return {
      file: m.file,
      name: (m.doc.metadata as Obj).name as string,
      group: spec.group,
      kind: spec.names.kind,
      plural: spec.names.plural,
      versions: spec.versions,
      conversion: spec.conversion,
    };
  });

function crdFor(apiVersion: string, kind: string): { crd: Crd; version: CrdVersion } | undefined {
  const [group, version] = apiVersion.split('/');
  const crd = crds.find((c) => c.group === group && c.kind === kind);
  const v = crd?.versions.find((x) => x.name === version);
  return crd && v ? { crd, version: v } : undefined;
}

const allowedKeywords = new Set([
  'type',
  'format',
  'description',
  'default',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'items',
  'properties',
  'additionalProperties',
  'nullable',
  'title',
  'example',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);
const scalarTypes = new Set(['string', 'integer', 'number', 'boolean']);

/** structuralProblems lists every way a schema node breaks the rules for a strict structural schema. */
function structuralProblems(s: Schema, path: string, depth: number): string[] {
  const out: string[] = [];
  for (const key of Object.keys(s))
    if (!allowedKeywords.has(key)) out.push(`${path}: keyword "${key}" is not allowed`);
  if (!s.type) out.push(`${path}: no type`);
  else if (!['object', 'array', ...scalarTypes].includes(s.type))
    out.push(`${path}: unknown type "${s.type}"`);
  if (s.type === 'object') {
    const intentionallyEmpty =
      depth === 1 && ['metadata', 'spec', 'status'].some((k) => path.endsWith(`.${k}`));
    if (!s.properties && !s.additionalProperties && !intentionallyEmpty)
      out.push(`${path}: object without properties`);
    if (s.properties && s.additionalProperties) out.push(`${path}: both properties and additionalProperties`);
    for (const r of s.required ?? [])
      if (!s.properties?.[r]) out.push(`${path}: required "${r}" is not a property`);
    for (const [k, sub] of Object.entries(s.properties ?? {}))
      out.push(...structuralProblems(sub, `${path}.${k}`, depth + 1));
    if (typeof s.additionalProperties === 'object')
      out.push(...structuralProblems(s.additionalProperties, `${path}.*`, depth + 1));
    if (s.items) out.push(`${path}: items on an object`);
  } else if (s.type === 'array') {
    if (!s.items || Array.isArray(s.items)) out.push(`${path}: array needs one items schema`);
    else out.push(...structuralProblems(s.items, `${path}[]`, depth + 1));
    if (s.properties) out.push(`${path}: properties on an array`);
    const listType = s['x-kubernetes-list-type'];
    if (listType === 'map') {
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      if (keys.length === 0) out.push(`${path}: list-type map without list-map-keys`);
      for (const k of keys) {
        const ks = s.items?.properties?.[k];
        if (!ks || !scalarTypes.has(ks.type ?? ''))
          out.push(`${path}: map key "${k}" must be a scalar property`);
        if (!s.items?.required?.includes(k) && ks?.default === undefined)
          out.push(`${path}: map key "${k}" must be required or defaulted`);
      }
    }
  } else if (s.properties || s.items) {
    out.push(`${path}: properties or items on a ${s.type}`);
  }
  if (s.default !== undefined) out.push(...valueProblems(s.default, s, `${path}(default)`, { strict: true }));
  for (const e of s.enum ?? [])
    out.push(...valueProblems(e, { ...s, enum: undefined }, `${path}(enum)`, { strict: true }));
  if (s.pattern !== undefined) {
    try {
      new RegExp(s.pattern, 'u');
    } catch {
      out.push(`${path}: pattern does not compile`);
    }
  }
  for (const v of s['x-kubernetes-validations'] ?? []) {
    if (!v.rule) out.push(`${path}: validation without rule`);
    if (!v.message && !v.messageExpression) out.push(`${path}: rule "${v.rule}" has no message`);
    if (v.rule?.includes('\n') && !v.message) out.push(`${path}: a rule with line breaks needs message`);
  }
  return out;
}

/** valueProblems checks a value against a schema: fields exist, types, enums, ranges, patterns, required. */
function valueProblems(value: Json, s: Schema, path: string, opts: { strict: boolean }): string[] {
  const out: string[] = [];
  const t = s.type;
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (t === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return [`${path}: ${JSON.stringify(value)} is not an integer`];
  } else if (t === 'number') {
    if (typeof value !== 'number') return [`${path}: ${JSON.stringify(value)} is not a number`];
  } else if (t === 'object') {
    if (actual !== 'object') return [`${path}: expected an object, got ${actual}`];
  } else if (t && t !== actual) {
    return [`${path}: expected ${t}, got ${actual}`];
  }
  if (s.enum && !s.enum.includes(value))
    out.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) out.push(`${path}: ${value} < minimum ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`${path}: ${value} > maximum ${s.maximum}`);
  }
  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength)
      out.push(`${path}: shorter than ${s.minLength}`);
    if (s.maxLength !== undefined && value.length > s.maxLength)
      out.push(`${path}: longer than ${s.maxLength}`);
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value))
      out.push(`${path}: "${value}" does not match ${s.pattern}`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems)
      out.push(`${path}: fewer than ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems)
      out.push(`${path}: more than ${s.maxItems} items`);
    if (s.items)
      value.forEach((v, i) => out.push(...valueProblems(v, s.items as Schema, `${path}[${i}]`, opts)));
  }
  if (actual === 'object' && t === 'object') {
    const o = value as Obj;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${path}: missing required "${r}"`);
    for (const [k, v] of Object.entries(o)) {
      const sub =
        s.properties?.[k] ??
        (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (sub) out.push(...valueProblems(v, sub, `${path}.${k}`, opts));
      else if (opts.strict && s.properties) out.push(`${path}: unknown field "${k}"`);
    }
  }
  return out;
}

/** schemaAt follows a printer-column JSONPath (.a.b, .a[*].b, .a[0].b) through a schema. */
function schemaAt(root: Schema, jsonPath: string): Schema | undefined {
  let s: Schema | undefined = root;
  for (const part of jsonPath
    .replace(/\[(\*|\d+)\]/g, '.[]')
    .split('.')
    .filter(Boolean)) {
    if (!s) return undefined;
    s = part === '[]' ? (s.type === 'array' ? s.items : undefined) : s.properties?.[part];
  }
  return s;
}

function workloads(): { file: string; kind: string; name: string; spec: Obj }[] {
  return manifests
    .filter((m) => ['Deployment', 'DaemonSet'].includes(m.doc.kind as string))
    .map((m) => ({
      file: m.file,
      kind: m.doc.kind as string,
      name: (m.doc.metadata as Obj).name as string,
      spec: ((m.doc.spec as Obj).template as Obj).spec as Obj,
    }));
}

function containers(podSpec: Obj): Obj[] {
  return [
    ...((podSpec.initContainers as Obj[] | undefined) ?? []),
    ...((podSpec.containers as Obj[] | undefined) ?? []),
  ];
}

describe('deploy/ YAML', () => {
  it('parses, and every document has apiVersion, kind and a name', () => {
    expect(manifests.length).toBeGreaterThan(20);
    for (const m of manifests) {
      if (m.file.endsWith('kustomization.yaml')) continue;
      expect(m.doc.apiVersion, m.file).toBeTypeOf('string');
      expect(m.doc.kind, m.file).toBeTypeOf('string');
      expect((m.doc.metadata as Obj | undefined)?.name, `${m.file} ${m.doc.kind as string}`).toBeTypeOf(
        'string',
      );
    }
  });

  it('kustomization lists every manifest except the examples, and nothing missing', () => {
    const k = load(join(deployDir, 'kustomization.yaml'))[0] as { resources: string[]; namespace: string };
    const listed = new Set(k.resources.filter((r) => r !== 'gateway-api'));
    expect(k.resources).toContain('gateway-api');
    const files = yamlFiles(deployDir)
      .map((f) => relative(deployDir, f))
      .filter((f) => !f.endsWith('kustomization.yaml') && !f.startsWith('examples/'));
    expect([...listed].sort()).toEqual(files.sort());
    expect(k.namespace).toBe('ironlb-system');
  });
});

describe('CRDs', () => {
  const expected = [
    ['IPAddressPool', ['v1beta1']],
    ['L2Advertisement', ['v1beta1']],
    ['BGPAdvertisement', ['v1beta1']],
    ['BGPPeer', ['v1beta2', 'v1beta1']],
    ['Community', ['v1beta1']],
    ['BFDProfile', ['v1beta1']],
    ['ServiceL2Status', ['v1beta1']],
    ['ServiceBGPStatus', ['v1beta1']],
  ] as const;

  it('one file per CRD, all of group metallb.io, with the versions MetalLB serves', () => {
    expect(crds.map((c) => c.kind).sort()).toEqual(expected.map(([k]) => k).sort());
    for (const c of crds) {
      expect(c.group).toBe('metallb.io');
      expect(c.name).toBe(`${c.plural}.metallb.io`);
      expect(c.file).toBe(`crds/${c.plural}.yaml`);
      const want = expected.find(([k]) => k === c.kind)?.[1] ?? [];
      expect(c.versions.map((v) => v.name)).toEqual([...want]);
      expect(c.versions.filter((v) => v.storage).length).toBe(1);
      for (const v of c.versions) expect(v.served, `${c.kind} ${v.name}`).toBe(true);
    }
  });

  it('schemas are structural: typed nodes, known keywords, properties under objects, no preserved blobs', () => {
    for (const c of crds)
      for (const v of c.versions) {
        const problems = structuralProblems(v.schema.openAPIV3Schema, `${c.kind}/${v.name}`, 0);
        expect(problems, `${c.kind}/${v.name}`).toEqual([]);
      }
  });

  it('printer columns point at fields that exist', () => {
    for (const c of crds)
      for (const v of c.versions)
        for (const col of v.additionalPrinterColumns ?? []) {
          const target = schemaAt(v.schema.openAPIV3Schema, col.jsonPath);
          expect(target, `${c.kind}/${v.name} column "${col.name}" ${col.jsonPath}`).toBeDefined();
          if (col.type === 'integer' || col.type === 'boolean')
            expect(target?.type, `${c.kind} ${col.name}`).toBe(col.type);
        }
  });

  it('the printer columns a MetalLB user sees are there', () => {
    const cols = (kind: string, version: string) =>
      crds
        .find((c) => c.kind === kind)
        ?.versions.find((v) => v.name === version)
        ?.additionalPrinterColumns?.map((c) => c.name.toUpperCase());
    expect(cols('IPAddressPool', 'v1beta1')).toEqual(
      expect.arrayContaining(['AUTO ASSIGN', 'AVOID BUGGY IPS', 'ADDRESSES']),
    );
    expect(cols('BGPPeer', 'v1beta2')).toEqual(
      expect.arrayContaining(['ADDRESS', 'ASN', 'BFD PROFILE', 'MULTI HOPS']),
    );
    expect(cols('BGPPeer', 'v1beta1')).toEqual(
      expect.arrayContaining(['ADDRESS', 'ASN', 'BFD PROFILE', 'MULTI HOPS']),
    );
    expect(cols('BFDProfile', 'v1beta1')).toEqual([
      'PASSIVE MODE',
      'TRANSMIT INTERVAL',
      'RECEIVE INTERVAL',
      'MULTIPLIER',
    ]);
  });

  // The field paths MetalLB's own CRDs define; renaming any of them would break a MetalLB user's YAML.
  const metallbFields: [string, string, string[]][] = [
    [
      'IPAddressPool',
      'v1beta1',
      [
        'spec.addresses',
        'spec.autoAssign',
        'spec.avoidBuggyIPs',
        'spec.serviceAllocation.priority',
        'spec.serviceAllocation.namespaces',
        'spec.serviceAllocation.namespaceSelectors',
        'spec.serviceAllocation.serviceSelectors',
        'status.assignedIPv4',
        'status.assignedIPv6',
        'status.availableIPv4',
        'status.availableIPv6',
      ],
    ],
    [
      'L2Advertisement',
      'v1beta1',
      [
        'spec.ipAddressPools',
        'spec.ipAddressPoolSelectors',
        'spec.nodeSelectors',
        'spec.interfaces',
        'spec.serviceSelectors',
      ],
    ],
    [
      'BGPAdvertisement',
      'v1beta1',
      [
        'spec.aggregationLength',
        'spec.aggregationLengthV6',
        'spec.localPref',
        'spec.communities',
        'spec.ipAddressPools',
        'spec.ipAddressPoolSelectors',
        'spec.nodeSelectors',
        'spec.peers',
        'spec.serviceSelectors',
      ],
    ],
    [
      'BGPPeer',
      'v1beta2',
      [
        'spec.myASN',
        'spec.peerASN',
        'spec.dynamicASN',
        'spec.peerAddress',
        'spec.interface',
        'spec.sourceAddress',
        'spec.peerPort',
        'spec.holdTime',
        'spec.keepaliveTime',
        'spec.connectTime',
        'spec.routerID',
        'spec.nodeSelectors',
        'spec.password',
        'spec.passwordSecret.name',
        'spec.passwordSecret.namespace',
        'spec.bfdProfile',
        'spec.enableGracefulRestart',
        'spec.ebgpMultiHop',
        'spec.vrf',
        'spec.disableMP',
        'spec.dualStackAddressFamily',
      ],
    ],
    [
      'BGPPeer',
      'v1beta1',
      [
        'spec.myASN',
        'spec.peerASN',
        'spec.peerAddress',
        'spec.sourceAddress',
        'spec.peerPort',
        'spec.holdTime',
        'spec.keepaliveTime',
        'spec.routerID',
        'spec.nodeSelectors',
        'spec.password',
        'spec.bfdProfile',
        'spec.ebgpMultiHop',
      ],
    ],
    ['Community', 'v1beta1', ['spec.communities[*].name', 'spec.communities[*].value']],
    [
      'BFDProfile',
      'v1beta1',
      [
        'spec.receiveInterval',
        'spec.transmitInterval',
        'spec.detectMultiplier',
        'spec.echoInterval',
        'spec.echoMode',
        'spec.passiveMode',
        'spec.minimumTtl',
      ],
    ],
    [
      'ServiceL2Status',
      'v1beta1',
      ['status.node', 'status.serviceName', 'status.serviceNamespace', 'status.interfaces[*].name'],
    ],
    [
      'ServiceBGPStatus',
      'v1beta1',
      ['status.node', 'status.serviceName', 'status.serviceNamespace', 'status.peers'],
    ],
  ];

  it.each(metallbFields)('%s %s has every MetalLB field', (kind, version, paths) => {
    const v = crds.find((c) => c.kind === kind)?.versions.find((x) => x.name === version);
    for (const p of paths) expect(schemaAt(v!.schema.openAPIV3Schema, `.${p}`), `${kind} ${p}`).toBeDefined();
  });

  it('MetalLB defaults and ranges are kept', () => {
    const spec = (kind: string, version = 'v1beta1') =>
      crds.find((c) => c.kind === kind)!.versions.find((v) => v.name === version)!.schema.openAPIV3Schema
        .properties!.spec!.properties!;
    expect(spec('IPAddressPool').autoAssign!.default).toBe(true);
    expect(spec('IPAddressPool').avoidBuggyIPs!.default).toBe(false);
    expect(spec('BGPAdvertisement').aggregationLength!.default).toBe(32);
    expect(spec('BGPAdvertisement').aggregationLengthV6!.default).toBe(128);
    expect(spec('BGPPeer', 'v1beta2').peerPort!.default).toBe(179);
    expect(spec('BGPPeer', 'v1beta2').dynamicASN!.enum).toEqual(['internal', 'external']);
    for (const f of ['receiveInterval', 'transmitInterval', 'echoInterval'])
      expect([spec('BFDProfile')[f]!.minimum, spec('BFDProfile')[f]!.maximum], f).toEqual([10, 60000]);
    expect([
      spec('BFDProfile').detectMultiplier!.minimum,
      spec('BFDProfile').detectMultiplier!.maximum,
    ]).toEqual([2, 255]);
    expect(spec('BFDProfile').receiveInterval!.default).toBe(300);
    expect(spec('BFDProfile').detectMultiplier!.default).toBe(3);
  });

  it('BGPPeer v1beta1 is a subset of v1beta2 with the same types, so conversion strategy None is lossless for it', () => {
    const peer = crds.find((c) => c.kind === 'BGPPeer')!;
    expect(peer.conversion?.strategy).toBe('None');
    const [v2, v1] = ['v1beta2', 'v1beta1'].map(
      (n) => peer.versions.find((v) => v.name === n)!.schema.openAPIV3Schema.properties!.spec!.properties!,
    );
    for (const [k, s] of Object.entries(v1!)) expect(v2![k]?.type, `spec.${k}`).toBe(s.type);
    expect(peer.versions.find((v) => v.name === 'v1beta2')!.storage).toBe(true);
  });

  it('IPAddressPool status carries conditions and conflicts beside the MetalLB counters', () => {
    const status = crds.find((c) => c.kind === 'IPAddressPool')!.versions[0]!.schema.openAPIV3Schema
      .properties!.status!;
    expect(Object.keys(status.properties!)).toEqual(
      expect.arrayContaining([
        'assignedIPv4',
        'assignedIPv6',
        'availableIPv4',
        'availableIPv6',
        'conditions',
        'conflicts',
      ]),
    );
    expect(Object.keys(status.properties!.conflicts!.items!.properties!).sort()).toEqual([
      'address',
      'detectedBy',
      'lastSeen',
      'reason',
    ]);
    expect(status.properties!.conditions!['x-kubernetes-list-map-keys']).toEqual(['type']);
  });
});

describe('examples', () => {
  const examples = manifests.filter((m) => m.file.startsWith('examples/'));

  it('cover pools, both advertisements, peers, a Community and a BFDProfile', () => {
    const kinds = new Set(examples.map((m) => m.doc.kind));
    for (const k of [
      'IPAddressPool',
      'L2Advertisement',
      'BGPAdvertisement',
      'BGPPeer',
      'Community',
      'BFDProfile',
    ])
      expect(kinds).toContain(k);
  });

  it('use only fields the CRD schemas define, with values the schemas accept', () => {
    for (const m of examples) {
      const apiVersion = m.doc.apiVersion as string;
      if (!apiVersion.startsWith('metallb.io/')) continue;
      const found = crdFor(apiVersion, m.doc.kind as string);
      expect(found, `${m.file}: ${apiVersion} ${m.doc.kind as string}`).toBeDefined();
      const { metadata: _metadata, ...rest } = m.doc;
      const problems = valueProblems(
        rest,
        found!.version.schema.openAPIV3Schema,
        `${m.file}:${m.doc.kind as string}`,
        { strict: true },
      );
      expect(problems).toEqual([]);
    }
  });

  it('name pools, peers, profiles and communities that the examples define', () => {
    const names = (kind: string) =>
      new Set(examples.filter((m) => m.doc.kind === kind).map((m) => (m.doc.metadata as Obj).name as string));
    const pools = names('IPAddressPool');
    const peers = names('BGPPeer');
    const profiles = names('BFDProfile');
    const aliases = new Set(
      examples
        .filter((m) => m.doc.kind === 'Community')
        .flatMap((m) => ((m.doc.spec as Obj).communities as Obj[]).map((c) => c.name as string)),
    );
    for (const m of examples) {
      const spec = (m.doc.spec ?? {}) as Obj;
      for (const p of (spec.ipAddressPools as string[] | undefined) ?? []) expect(pools, m.file).toContain(p);
      for (const p of (spec.peers as string[] | undefined) ?? []) expect(peers, m.file).toContain(p);
      if (m.doc.kind === 'BGPPeer' && spec.bfdProfile) expect(profiles).toContain(spec.bfdProfile);
      for (const c of (m.doc.kind === 'BGPAdvertisement'
        ? (spec.communities as string[] | undefined)
        : undefined) ?? [])
        if (!c.includes(':')) expect(aliases, m.file).toContain(c);
    }
  });
});

describe('workloads and RBAC', () => {
  const byName = (name: string) => workloads().find((w) => w.name === name)!;

  it('run the three entry points from one image', () => {
    const commands = workloads().flatMap((w) =>
      containers(w.spec).map((c) => (c.command as string[]).join(' ')),
    );
    expect(commands).toEqual(
      expect.arrayContaining([
        'node --max-opt=0 --optimize-for-size --bytecode-old-age=1 dist/controller.cjs',
        'node dist/speaker.js',
        'node dist/ingress.js',
      ]),
    );
    const images = new Set(workloads().flatMap((w) => containers(w.spec).map((c) => c.image)));
    expect([...images]).toEqual(['ironlb:latest']);
  });

  it("the image's default command is the controller's, V8 flags included", () => {
    const controller = containers(byName('ironlb-controller').spec).find((c) => c.name === 'controller')!;
    const dockerfile = readFileSync(join(deployDir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`CMD ${JSON.stringify(controller.command)}`.replaceAll('","', '", "'));
  });

  it('the speaker runs on the host network and asks for NET_RAW and NET_ADMIN only', () => {
    const speaker = byName('ironlb-speaker');
    expect(speaker.kind).toBe('DaemonSet');
    expect(speaker.spec.hostNetwork).toBe(true);
    for (const c of containers(speaker.spec)) {
      const sc = c.securityContext as {
        privileged?: boolean;
        allowPrivilegeEscalation?: boolean;
        capabilities?: { add?: string[]; drop?: string[] };
      };
      expect(sc.privileged ?? false, c.name as string).toBe(false);
      expect(sc.allowPrivilegeEscalation, c.name as string).toBe(false);
      expect(sc.capabilities?.drop, c.name as string).toEqual(['ALL']);
      expect((sc.capabilities?.add ?? []).sort(), c.name as string).toEqual(
        c.name === 'speaker' ? ['NET_ADMIN', 'NET_RAW'] : [],
      );
    }
    expect(containers(speaker.spec).map((c) => c.name)).toEqual(['speaker', 'gobgpd']);
    const env = (containers(speaker.spec)[0]!.env as Obj[]).find((e) => e.name === 'IRONLB_NODE_NAME');
    expect(env?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
  });

  it('no workload is privileged or adds capabilities other than the speaker', () => {
    for (const w of workloads())
      for (const c of containers(w.spec)) {
        const sc = (c.securityContext ?? {}) as { privileged?: boolean; capabilities?: { add?: string[] } };
        expect(sc.privileged ?? false).toBe(false);
        if (!(w.name === 'ironlb-speaker' && c.name === 'speaker'))
          expect(sc.capabilities?.add ?? [], `${w.name}/${c.name as string}`).toEqual([]);
      }
    expect(byName('ironlb-controller').spec.hostNetwork ?? false).toBe(false);
    expect(byName('ironlb-ingress').spec.hostNetwork ?? false).toBe(false);
  });

  it('controller: two replicas; the ingress Service is LoadBalancer with externalTrafficPolicy Local; IngressClass ironlb', () => {
    const ctrl = manifests.find(
      (m) => m.doc.kind === 'Deployment' && (m.doc.metadata as Obj).name === 'ironlb-controller',
    )!;
    expect((ctrl.doc.spec as Obj).replicas).toBe(2);
    const svc = manifests.find(
      (m) => m.doc.kind === 'Service' && (m.doc.metadata as Obj).name === 'ironlb-ingress',
    )!.doc.spec as Obj;
    expect([svc.type, svc.externalTrafficPolicy]).toEqual(['LoadBalancer', 'Local']);
    const cls = manifests.find((m) => m.doc.kind === 'IngressClass')!.doc;
    expect([(cls.metadata as Obj).name, (cls.spec as Obj).controller]).toEqual([
      'ironlb',
      'ironlb.io/ingress',
    ]);
  });

  it('every workload has a ServiceAccount, and every ServiceAccount is bound', () => {
    const accounts = manifests
      .filter((m) => m.doc.kind === 'ServiceAccount')
      .map((m) => (m.doc.metadata as Obj).name);
    const bound = manifests
      .filter((m) => m.doc.kind === 'RoleBinding' || m.doc.kind === 'ClusterRoleBinding')
      .flatMap((m) => (m.doc.subjects as Obj[]).map((s) => s.name));
    for (const w of workloads()) expect(accounts).toContain(w.spec.serviceAccountName);
    for (const a of accounts) expect(bound).toContain(a);
  });

  it('the controller reads Secrets only in its own namespace and writes only its webhook certificate', () => {
    const rules = (kind: string) =>
      manifests
        .filter((m) => m.doc.kind === kind && ((m.doc.metadata as Obj).name as string).includes('controller'))
        .flatMap(
          (m) =>
            m.doc.rules as {
              apiGroups: string[];
              resources: string[];
              resourceNames?: string[];
              verbs: string[];
            }[],
        );
    const touchesSecrets = (r: { resources: string[] }) =>
      r.resources.includes('secrets') || r.resources.includes('*');
    // never cluster-wide: a ClusterRole would let it read every namespace's Secrets
    expect(rules('ClusterRole').filter(touchesSecrets)).toEqual([]);
    const namespaced = rules('Role').filter(touchesSecrets);
    const writes = namespaced.filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)));
    expect(writes.map((r) => r.resourceNames)).toEqual([['ironlb-webhook-cert']]);
    expect(namespaced.find((r) => r.resourceNames === undefined)?.verbs).toEqual(['get', 'list', 'watch']);
  });

  it('the bfd component adds to the speaker container only what FRR bfdd needs to start', () => {
    const component = manifests.find((m) => m.file === join('components', 'bfd', 'kustomization.yaml'))!.doc;
    expect(component.kind).toBe('Component');
    const [patch] = component.patches as { target: { kind: string; name: string }; patch: string }[];
    expect(patch?.target).toEqual({ kind: 'DaemonSet', name: 'ironlb-speaker' });
    const ops = parseAllDocuments(patch?.patch ?? '')[0]?.toJS() as {
      op: string;
      path: string;
      value: unknown;
    }[];
    // the patch addresses containers/0 by index: it checks that this is the speaker before changing it
    expect(ops[0]).toEqual({ op: 'test', path: '/spec/template/spec/containers/0/name', value: 'speaker' });
    expect(containers(byName('ironlb-speaker').spec)[0]?.name).toBe('speaker');
    expect(ops[1]?.path).toBe('/spec/template/spec/containers/0/securityContext/capabilities/add');
    expect([...(ops[1]?.value as string[])].sort()).toEqual(
      [
        'CHOWN',
        'DAC_OVERRIDE',
        'NET_ADMIN',
        'NET_BIND_SERVICE',
        'NET_RAW',
        'SETGID',
        'SETUID',
        'SYS_ADMIN',
      ].sort(),
    );
  });

  it('gobgpd outlives the speaker on pod deletion by more than the L2 handoff, within the grace period', () => {
    const speaker = byName('ironlb-speaker');
    const gobgpd = containers(speaker.spec).find((c) => c.name === 'gobgpd') as {
      lifecycle?: { preStop?: { exec?: { command?: string[] } } };
    };
    const [cmd, seconds] = gobgpd.lifecycle?.preStop?.exec?.command ?? [];
    expect(cmd).toBe('sleep');
    expect(Number(seconds)).toBeGreaterThan(1.5);
    expect(Number(seconds)).toBeLessThan(speaker.spec.terminationGracePeriodSeconds as number);
  });

  it('gobgpd is killed on SIGTERM, so its sessions end without a NOTIFICATION (graceful restart keeps the routes)', () => {
    const speaker = byName('ironlb-speaker');
    const gobgpd = containers(speaker.spec).find((c) => c.name === 'gobgpd') as { command?: string[] };
    const [shell, flag, script] = gobgpd.command ?? [];
    expect([shell, flag]).toEqual(['/bin/sh', '-c']);
    expect(script).toContain('/usr/bin/gobgpd -p --api-hosts 127.0.0.1:50051 --pprof-disable');
    expect(script).toContain("trap 'kill -KILL $!' TERM");
    expect(script).toContain('wait $!');
  });

  it('the webhook covers every writable metallb.io kind but the status objects', () => {
    const hook = manifests.find((m) => m.doc.kind === 'ValidatingWebhookConfiguration')!.doc;
    const covered = (hook.webhooks as { rules: { resources: string[] }[] }[])
      .flatMap((w) => w.rules.flatMap((r) => r.resources))
      .sort();
    const want = crds
      .map((c) => c.plural)
      .filter((p) => !p.startsWith('service'))
      .sort();
    expect(covered).toEqual(want);
  });
});
