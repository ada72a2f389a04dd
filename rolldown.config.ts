// The production bundles of the three programs: `npx rolldown -c` writes dist/controller.js, dist/speaker.js and
// dist/ingress.js, which the image runs (deploy/Dockerfile; development and tests run the .ts sources).
// Why: @kubernetes/client-node's entry point re-exports every generated API and model (~30 MB of JavaScript),
// and Node.js keeps the source text of every module it loads. One tree-shaken, minified file per program loads
// only what the program uses (~2.5 MB): the controller starts at ~95 instead of ~137 MiB RSS (README, "Memory").
// Each program is bundled on its own, so none carries another's API classes. The packet-socket addon is loaded
// at run time from ./build/Release/ next to the bundle (speaker/native/index.ts): the Dockerfile copies it there.
import { defineConfig } from 'rolldown';

const programs = ['controller', 'speaker', 'ingress'] as const;

// The speaker's heartbeat thread (speaker/liveness-sender.ts) runs from a bundle of its own beside dist/speaker.js.
const entries = [
  ...programs.map((name) => ({ input: `${name}/main.ts`, file: `dist/${name}.js` })),
  { input: 'speaker/liveness-worker.ts', file: 'dist/liveness-worker.js' },
];

export default defineConfig(
  entries.map(({ input, file }) => ({
    input,
    platform: 'node' as const,
    output: {
      file,
      format: 'esm' as const,
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
