#!/usr/bin/env bash
# Builds native/udp-batch (the batched UDP receive/send of the DNS hot path) and native/h2-session
# (the DoH listener's HTTP/2 engine, libnghttp2) against the headers of the Node.js on PATH.
# Optional: if one cannot be built, driad serves UDP with node:dgram, or HTTP/2 with node:http2,
# and says so at start.
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
if [ -f "$out" ] && [ "$out" -nt "$src" ]; then :
else
  mkdir -p "$(dirname "$out")"
  if ${CC:-cc} -O2 -Wall -Wextra -Wno-unused-parameter -fPIC -shared -I"$inc" -o "$out.tmp" "$src"; then
    mv "$out.tmp" "$out"
    echo "build-native: built $out" >&2
  else
    rm -f "$out.tmp"
    echo "build-native: compile failed; UDP falls back to node:dgram" >&2
  fi
fi

# The HTTP/2 session of the DoH listener: libnghttp2 (Debian libnghttp2-dev).
src=native/h2-session/h2_session.c
out=native/h2-session/build/h2_session.node
if ! [ -f /usr/include/nghttp2/nghttp2.h ]; then
  echo "build-native: no nghttp2/nghttp2.h (libnghttp2-dev); DoH over HTTP/2 falls back to node:http2" >&2
  exit 0
fi
if [ -f "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
mkdir -p "$(dirname "$out")"
if ${CC:-cc} -O2 -Wall -Wextra -Wno-unused-parameter -fPIC -shared -I"$inc" -o "$out.tmp" "$src" -lnghttp2; then
  mv "$out.tmp" "$out"
  echo "build-native: built $out" >&2
else
  rm -f "$out.tmp"
  echo "build-native: compile failed; DoH over HTTP/2 falls back to node:http2" >&2
fi
