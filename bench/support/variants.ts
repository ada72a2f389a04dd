// Program variants a benchmark compares in one run: `entry[+NAME=value...]`, comma-separated, e.g.
// `dist/controller.js,controller/main.ts,dist/controller.js+MALLOC_ARENA_MAX=2`.

/** Variant is one way to run a program: its entry point and extra environment settings. */
export interface Variant {
  label: string;
  entry: string;
  env: Record<string, string>;
}

/** parseVariants reads a --variants value. */
export function parseVariants(list: string): Variant[] {
  return list.split(',').map((label) => {
    const [entry = '', ...settings] = label.trim().split('+');
    return {
      label: label.trim(),
      entry,
      env: Object.fromEntries(
        settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    };
  });
}
