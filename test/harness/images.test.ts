import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cacheKey,
  contextFiles,
  debianMirrors,
  isIgnored,
  nameIndex,
  parseIgnoreFile,
  parsePrinted,
  staleOutputs,
  type OciIndex,
} from './images.ts';
import { repoRoot as root } from './paths.ts';

describe('parseIgnoreFile and isIgnored (BuildKit semantics)', () => {
  const rules = parseIgnoreFile(
    [
      '# comment',
      '**',
      '!src/**',
      '!package.json',
      '**/*.test.ts',
      '/src/gen/',
      'src/a?.ts',
      '!src/gen/keep.ts',
    ].join('\n'),
  );
  it.each([
    ['README.md', true, '"**" ignores everything first'],
    ['package.json', false, 'a negated file comes back'],
    ['src/x/y.ts', false, 'a negated tree comes back'],
    ['src/x/y.test.ts', true, '"**/" spans any depth, and the later rule wins'],
    ['src/y.test.ts', true, '"**/" also matches no directory at all'],
    ['src/gen/z.ts', true, 'a rule naming a directory ignores what is inside ("/" and trailing "/" trimmed)'],
    ['src/gen/keep.ts', false, 'a later negation brings one file back'],
    ['src/ab.ts', true, '"?" is one character'],
    ['src/abc.ts', false, '"?" is not two'],
    ['srcx/a.ts', true, '"src/**" does not match a sibling with a longer name'],
  ])('%s ignored: %s (%s)', (path, ignored) => {
    expect(isIgnored(rules, path)).toBe(ignored);
  });

  it('"*" stays within one directory', () => {
    const r = parseIgnoreFile('*.md');
    expect(isIgnored(r, 'a.md')).toBe(true);
    expect(isIgnored(r, 'docs/a.md')).toBe(false);
  });

  it('character classes and escapes', () => {
    const r = parseIgnoreFile('[ab].txt\n[!c]x.txt\nlit\\*.txt');
    expect(isIgnored(r, 'a.txt')).toBe(true);
    expect(isIgnored(r, 'c.txt')).toBe(false);
    expect(isIgnored(r, 'dx.txt')).toBe(true);
    expect(isIgnored(r, 'cx.txt')).toBe(false);
    expect(isIgnored(r, 'lit*.txt')).toBe(true);
    expect(isIgnored(r, 'litx.txt')).toBe(false);
  });
});

describe("IronLB's image context (deploy/Dockerfile.dockerignore)", () => {
  const rules = parseIgnoreFile(readFileSync(join(root, 'deploy/Dockerfile.dockerignore'), 'utf8'));
  const files = contextFiles(root, rules);
  const shipped = new Set(files);

  it('holds the programs and the lock file', () => {
    for (const f of [
      'package.json',
      'package-lock.json',
      'controller/main.ts',
      'speaker/main.ts',
      'ingress/main.ts',
    ]) {
      expect(shipped, f).toContain(f);
    }
    expect(shipped).toContain('speaker/native/build.sh');
    expect(shipped).toContain('speaker/native/binding.gyp');
  });

  it('leaves out tests, test helpers, fixtures, benchmarks, builds and dependencies', () => {
    const bad = files.filter((f) =>
      /(\.test\.ts|\.test-helpers\.ts|\/testkit\.ts|\/testdata\/|\.bench\.ts|node_modules\/|^speaker\/native\/build\/|^(test|bench|deploy|scripts|\.tools|\.git)\/)/.test(
        f,
      ),
    );
    expect(bad).toEqual([]);
    expect(shipped).not.toContain('ingress/testkit.ts');
    expect(shipped).not.toContain('src/ingress/fixtures.test-helpers.ts');
  });

  it('every relative import of a shipped file is shipped (the image does not need what it leaves out)', () => {
    const missing: string[] = [];
    for (const f of files.filter((x) => x.endsWith('.ts'))) {
      const text = readFileSync(join(root, f), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = normalize(join(dirname(f), m[1] as string));
        if (!shipped.has(target)) missing.push(`${f} imports ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('holds every path the Dockerfile copies from the context', () => {
    const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] as string).split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) {
      const p = s.replace(/\/$/, '');
      expect(
        files.some((f) => f === p || f.startsWith(`${p}/`)),
        s,
      ).toBe(true);
    }
  });
});

describe('cacheKey', () => {
  const inputs = [
    { name: 'dockerfile', value: 'aa' },
    { name: 'input src/a.ts', value: 'bb x' },
    { name: 'arg NODE_IMAGE', value: 'localhost/ironlb-base:123' },
  ];
  it('does not depend on the order of the inputs', () => {
    expect(cacheKey([...inputs].reverse())).toBe(cacheKey(inputs));
    expect(cacheKey(inputs)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('changes when any value, name or the set of inputs changes', () => {
    const k = cacheKey(inputs);
    expect(cacheKey(inputs.map((i, n) => (n === 1 ? { ...i, value: 'bb -' } : i)))).not.toBe(k);
    expect(cacheKey(inputs.map((i, n) => (n === 2 ? { ...i, name: 'arg BASE' } : i)))).not.toBe(k);
    expect(cacheKey(inputs.slice(1))).not.toBe(k);
  });
  it('cannot be confused by a value that looks like another line', () => {
    expect(() => cacheKey([{ name: 'a', value: 'x\nb=y' }])).toThrow(RangeError);
    expect(() => cacheKey([{ name: 'a=b', value: 'x' }])).toThrow(RangeError);
    expect(() => cacheKey([...inputs, inputs[0] as (typeof inputs)[0]])).toThrow(
      /Duplicate cache key input "dockerfile"/,
    );
  });
});

describe('nameIndex', () => {
  const index: OciIndex = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: 'sha256:abc',
        size: 500,
        annotations: { 'org.opencontainers.image.ref.name': 'x' },
      },
    ],
  };
  it('names the manifest once per ref, for ctr import', () => {
    const named = nameIndex(index, ['localhost/ironlb:1a2b', 'localhost/ironlb:latest']);
    expect(named.manifests.map((m) => m.annotations)).toEqual([
      {
        'org.opencontainers.image.ref.name': 'localhost/ironlb:1a2b',
        'io.containerd.image.name': 'localhost/ironlb:1a2b',
      },
      {
        'org.opencontainers.image.ref.name': 'localhost/ironlb:latest',
        'io.containerd.image.name': 'localhost/ironlb:latest',
      },
    ]);
    expect(named.manifests.every((m) => m.digest === 'sha256:abc' && m.size === 500)).toBe(true);
    expect(index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name']).toBe('x');
  });
  it('refuses an index with more than one manifest, or no ref', () => {
    const two = {
      ...index,
      manifests: [...index.manifests, { ...index.manifests[0], digest: 'sha256:def' }],
    } as OciIndex;
    expect(() => nameIndex(two, ['a:b'])).toThrow(/2 manifests/);
    expect(() => nameIndex(index, [])).toThrow(RangeError);
  });
});

describe('debianMirrors', () => {
  it('reads deb822 sources', () => {
    const sources = `Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main`;
    expect(debianMirrors(sources, 'bookworm')).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://security.example/debian-security',
    });
  });
  it('reads one-line sources and skips deb-src and other suites', () => {
    const sources = `deb-src http://src.example/debian bookworm main
deb http://old.example/debian bullseye main
deb [arch=amd64] http://m.example/debian bookworm main
deb http://s.example/debian-security bookworm-security main`;
    expect(debianMirrors(sources, 'bookworm')).toEqual({
      main: 'http://m.example/debian',
      security: 'http://s.example/debian-security',
    });
    expect(debianMirrors('', 'bookworm')).toEqual({});
  });
});

describe('parsePrinted', () => {
  it('reads "<ref> <archive>" lines', () => {
    expect(parsePrinted('localhost/pause:3.10 /c/images/pause-1.oci.tar\n\n')).toEqual([
      { ref: 'localhost/pause:3.10', archive: '/c/images/pause-1.oci.tar' },
    ]);
    expect(() => parsePrinted('just-one-field')).toThrow(/Unexpected build-images.sh line "just-one-field"/);
  });
});

describe('staleOutputs', () => {
  const f = (path: string, usedMs: number) => ({ path, usedMs });
  const files = [
    f('/c/ironlb-0000000000000001.oci.tar', 1),
    f('/c/ironlb-0000000000000002.oci.tar', 2),
    f('/c/ironlb-0000000000000003.oci.tar', 3),
    f('/c/ironlb-0000000000000004.oci.tar', 4),
    f('/c/ironlb-echo-000000000000000a.oci.tar', 0),
    f('/c/ironlb-0000000000000005.oci.tar.partial', 0),
    f('/c/ironlb-0000000000000006.tar', 0),
  ];
  const opts = { prefix: '/c/ironlb-', suffix: '.oci.tar', count: 3 };
  it('keeps the one just built and the most recently used others, of its own kind only', () => {
    expect(staleOutputs(files, { ...opts, keep: '/c/ironlb-0000000000000001.oci.tar' })).toEqual([
      '/c/ironlb-0000000000000002.oci.tar',
    ]);
    expect(staleOutputs(files, { ...opts, keep: '/c/ironlb-0000000000000009.oci.tar' })).toEqual([
      '/c/ironlb-0000000000000002.oci.tar',
      '/c/ironlb-0000000000000001.oci.tar',
    ]);
  });
  it('lists nothing while there are no more than count', () => {
    expect(staleOutputs(files.slice(2), { ...opts, keep: '/c/ironlb-0000000000000004.oci.tar' })).toEqual([]);
  });
});
