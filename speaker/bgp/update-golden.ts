// Rewrites src/bgp/testdata/<case>.json from src/bgp/testdata/golden-cases.ts. Review the diff like code.
// Usage: node speaker/bgp/update-golden.ts   (the golden test itself never writes: src/ does no I/O)

import { readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { goldenCases } from '../../src/bgp/testdata/golden-cases.ts';

const dir = fileURLToPath(new URL('../../src/bgp/testdata/', import.meta.url));
const config = (await prettier.resolveConfig(dir)) ?? {};

for (const [name, render] of Object.entries(goldenCases)) {
  const text = await prettier.format(JSON.stringify(render()), { ...config, parser: 'json' });
  await writeFile(`${dir}${name}.json`, text);
  console.log(`wrote src/bgp/testdata/${name}.json`);
}
for (const file of await readdir(dir)) {
  if (file.endsWith('.json') && !(file.slice(0, -'.json'.length) in goldenCases)) {
    console.log(
      `stale: src/bgp/testdata/${file} has no case; delete it and its import in requests.golden.test.ts`,
    );
  }
}
