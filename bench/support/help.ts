// The --help of a bench whose header comment is its manual: that comment, up to the first import, without the
// comment markers.
import { readFileSync } from 'node:fs';

/** headerHelp returns the leading comment of the module at url as plain text. */
export function headerHelp(url: string): string {
  return (
    readFileSync(new URL(url), 'utf8')
      .split('\nimport ')[0]
      ?.replace(/^\/\/ ?/gm, '') ?? ''
  );
}
