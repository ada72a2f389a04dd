// Program variants a benchmark compares in one run: `entry[+NAME=value...][+--node-flag...]`, comma-separated,
// e.g. `dist/controller.js,controller/main.ts,dist/controller.js+MALLOC_ARENA_MAX=2+--lite-mode`. A setting that
// starts with `-` is a flag for node itself, placed before the entry point: V8 options such as --lite-mode or
// --single-threaded-gc are refused in NODE_OPTIONS.

/** Variant is one way to run a program: its entry point, extra environment settings and node flags. */
export interface Variant {
  label: string;
  entry: string;
  env: Record<string, string>;
  /** nodeArgs: flags for node, in the order given, before the entry point */
  nodeArgs: string[];
}

/** parseVariants reads a --variants value. */
export function parseVariants(list: string): Variant[] {
  return list.split(',').map((label) => {
    const [entry = '', ...settings] = label.trim().split('+');
    const env = settings.filter((s) => !s.startsWith('-'));
    return {
      label: label.trim(),
      entry,
      env: Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      nodeArgs: settings.filter((s) => s.startsWith('-')),
    };
  });
}
