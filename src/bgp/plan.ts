// Desired-state diff for gobgpd's global table: what we believe it holds (path key -> uuid) against what it should
// hold -> the AddPath and DeletePath calls that converge it, make-before-break.

import { formatPrefix } from './prefix.ts';
import { pathKey, type PathSpec } from './path.ts';
import type { PathUuid } from './uuid.ts';

/** PlannedAdd is one AddPath to make; record the returned uuid under `key`. */
export interface PlannedAdd {
  readonly key: string;
  readonly spec: PathSpec;
}

/** PlannedRemoval is one tracked path leaving the table, by its uuid. */
export interface PlannedRemoval {
  readonly key: string;
  readonly uuid: PathUuid;
}

/**
 * PathPlan is the result of planPaths. Apply `add` first (each AddPath returns the uuid to record under its
 * key), then `delete` (one DeletePath by uuid each), and forget `superseded` without any call.
 */
export interface PathPlan {
  readonly add: readonly PlannedAdd[];
  /** delete: tracked paths whose prefix is no longer wanted at all. */
  readonly delete: readonly PlannedRemoval[];
  /**
   * superseded: tracked paths whose prefix is re-added with other attributes. gobgpd's AddPath of that prefix
   * replaces the path in place (implicit withdraw, no gap toward peers) and drops the old uuid, so deleting
   * it would fail; just remove it from the bookkeeping.
   */
  readonly superseded: readonly PlannedRemoval[];
  /** unchanged: keys already in place. */
  readonly unchanged: readonly string[];
}

/**
 * planPaths diffs current (key -> uuid, as recorded from AddPath replies; see planAdoption after a speaker restart)
 * against desired (one spec per prefix, e.g. from buildDesiredPaths; a repeated prefix is a TypeError). Every
 * delete names a uuid taken from `current`, so applying the plan can never issue an empty DeletePath. Output is
 * sorted by key. O((n + m) log(n + m)).
 */
export function planPaths(current: ReadonlyMap<string, PathUuid>, desired: readonly PathSpec[]): PathPlan {
  const wanted = indexDesired(desired);
  const add: PlannedAdd[] = [];
  const unchanged: string[] = [];
  const addedPrefixes = new Set<string>();
  for (const [key, spec] of wanted) {
    if (current.has(key)) {
      unchanged.push(key);
    } else {
      add.push({ key, spec });
      addedPrefixes.add(formatPrefix(spec.prefix));
    }
  }
  const deletions: PlannedRemoval[] = [];
  const superseded: PlannedRemoval[] = [];
  for (const [key, uuid] of current) {
    if (wanted.has(key)) continue;
    (addedPrefixes.has(prefixOfKey(key)) ? superseded : deletions).push({ key, uuid });
  }
  const byKey = (a: { key: string }, b: { key: string }): number =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  return {
    add: add.sort(byKey),
    delete: deletions.sort(byKey),
    superseded: superseded.sort(byKey),
    unchanged: unchanged.sort(),
  };
}

/**
 * AdoptionPlan takes over a gobgpd that outlived the speaker: it still announces paths, but their uuids are
 * lost with the old speaker, and gobgpd (3.10) does not report uuids in ListPath.
 */
export interface AdoptionPlan {
  /**
   * add: every desired path. An AddPath of a prefix gobgpd already holds replaces that path in place (no
   * withdrawal toward peers) and yields the uuid to track.
   */
  readonly add: readonly PlannedAdd[];
  /**
   * orphans: listed paths whose prefix is no longer desired. For each, AddPath it unchanged (same attributes,
   * nothing changes for peers) to learn a uuid, then DeletePath by that uuid: deletes stay by uuid only.
   */
  readonly orphans: readonly PlannedAdd[];
}

/**
 * planAdoption plans the takeover of a running gobgpd from its local paths (localPathsFromList) and the
 * desired set (one spec per prefix; TypeError otherwise). Sorted by key. O((n + m) log(n + m)).
 */
export function planAdoption(listed: readonly PathSpec[], desired: readonly PathSpec[]): AdoptionPlan {
  const wanted = indexDesired(desired);
  const wantedPrefixes = new Set([...wanted.values()].map((spec) => formatPrefix(spec.prefix)));
  const orphans = new Map<string, PathSpec>();
  for (const spec of listed) {
    if (!wantedPrefixes.has(formatPrefix(spec.prefix))) orphans.set(pathKey(spec), spec);
  }
  const sorted = (specs: Map<string, PathSpec>): PlannedAdd[] =>
    [...specs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, spec]) => ({ key, spec }));
  return { add: sorted(wanted), orphans: sorted(orphans) };
}

function indexDesired(desired: readonly PathSpec[]): Map<string, PathSpec> {
  const wanted = new Map<string, PathSpec>();
  const prefixes = new Set<string>();
  for (const spec of desired) {
    const prefix = formatPrefix(spec.prefix);
    if (prefixes.has(prefix)) {
      throw new TypeError(
        `Cannot plan paths: prefix "${prefix}" is desired twice; merge it first (mergePathSpecs)`,
      );
    }
    prefixes.add(prefix);
    wanted.set(pathKey(spec), spec);
  }
  return wanted;
}

function prefixOfKey(key: string): string {
  const space = key.indexOf(' ');
  return space < 0 ? key : key.slice(0, space);
}
