// The production bundles of the three programs: `npx rolldown -c` writes dist/controller.cjs, dist/speaker.js and
// dist/ingress.js, which the image runs (deploy/Dockerfile; development and tests run the .ts sources).
// Why: @kubernetes/client-node's entry point re-exports every generated API and model (~30 MB of JavaScript),
// and Node.js keeps the source text of every module it loads. One tree-shaken, minified file per program loads
// only what the program uses (~2.5 MB): the controller starts at ~95 instead of ~137 MiB RSS (README, "Memory").
// Each program is bundled on its own, so none carries another's API classes. The packet-socket addon is loaded
// at run time from ./build/Release/ next to the bundle (speaker/native/index.ts): the Dockerfile copies it there.
import { defineConfig } from 'rolldown';

// The controller's bundle is CommonJS: Node.js's ES module loader keeps the file's bytes (a 2.5 MB Buffer) for
// the life of the process beside the source string V8 needs, the CommonJS loader does not — 2.4 MiB less
// external memory and 1.5-3 MiB less resident at idle (bench/controller.bench.ts; README, "Memory"). The speaker
// and the ingress stay ES modules (not measured that way).
const entries = [
  { input: 'controller/main.ts', file: 'dist/controller.cjs', format: 'cjs' as const },
  { input: 'speaker/main.ts', file: 'dist/speaker.js', format: 'esm' as const },
  { input: 'ingress/main.ts', file: 'dist/ingress.js', format: 'esm' as const },
];

export default defineConfig(
  entries.map(({ input, file, format }) => ({
    input,
    platform: 'node' as const,
    output: {
      file,
      format,
      minify: true,
      // class and function names stay readable in logs and stack traces (Error subclasses, ApiException)
      keepNames: true,
      // escaped non-ASCII keeps the file one byte per character: V8 holds a two-byte copy of any other source
      charset: 'ascii' as const,
      // the licences stay with the packages in the image's node_modules/, not in a bundle V8 keeps in memory
      comments: false,
    },
  })),
);
