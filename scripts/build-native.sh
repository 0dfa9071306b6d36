#!/usr/bin/env bash
# Builds native/udp-batch (the batched UDP receive/send of the DNS hot path) against the
# headers of the Node.js on PATH. Optional: if it cannot be built, driad serves UDP with
# node:dgram and says so at start.
set -uo pipefail
cd "$(dirname "$0")/.."
# The eBPF AMT tracker and its loader (src/collectors/ebpf/; optional as well).
bash scripts/build-ebpf.sh
src=native/udp-batch/udp_batch.c
out=native/udp-batch/build/udp_batch.node
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
inc=""
for dir in "$node_prefix/include/node" /usr/include/node /usr/local/include/node; do
  if [ -f "$dir/node_api.h" ] && [ -f "$dir/uv.h" ]; then inc="$dir"; break; fi
done
if [ -z "$inc" ]; then
  echo "build-native: no Node.js headers (node_api.h, uv.h) found; UDP falls back to node:dgram" >&2
  exit 0
fi
if [ -f "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
mkdir -p "$(dirname "$out")"
if ${CC:-cc} -O2 -Wall -Wextra -Wno-unused-parameter -fPIC -shared -I"$inc" -o "$out.tmp" "$src"; then
  mv "$out.tmp" "$out"
  echo "build-native: built $out" >&2
else
  rm -f "$out.tmp"
  echo "build-native: compile failed; UDP falls back to node:dgram" >&2
fi
