#!/usr/bin/env bash
# Builds the AMT tracker (src/collectors/ebpf/): the BPF object with clang -target bpf against
# the kernel uapi and libbpf headers, its bpftool skeleton, and the loader driad-amt-loader
# linked with libbpf. Outputs go to src/collectors/ebpf/build/ (git-ignored). Optional: without
# clang, bpftool or libbpf-dev it says so and exits 0; the eBPF mode is then unavailable.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=src/collectors/ebpf
out=$dir/build
bin=$out/driad-amt-loader
cc=${CC:-cc}

missing=()
command -v clang >/dev/null || missing+=("clang (Debian: clang)")
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || missing+=("bpftool (Debian: bpftool)")
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=("libbpf headers (Debian: libbpf-dev)")
[ -f /usr/include/linux/bpf.h ] || missing+=("kernel uapi headers (Debian: linux-libc-dev)")
command -v "$cc" >/dev/null || missing+=("a C compiler ($cc)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-ebpf: not built, missing: ${missing[*]}; the eBPF tracker is unavailable" >&2
  exit 0
fi
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)

sources=("$dir"/bpf/*.c "$dir"/bpf/*.h "$dir"/loader/*.c "$dir"/loader/*.h "$0")
if [ -x "$bin" ]; then
  stale=0
  for f in "${sources[@]}"; do [ "$f" -nt "$bin" ] && stale=1; done
  [ "$stale" -eq 0 ] && exit 0
fi
mkdir -p "$out"
# The programs read packet bytes and the uapi contexts (xdp_md, __sk_buff) only, so plain uapi
# headers suffice: no CO-RE, no vmlinux.h, no kernel BTF needed to build or to run.
multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=$("$cc" -dumpmachine)
fail() { echo "build-ebpf: $1 failed; the eBPF tracker is unavailable" >&2; rm -f "$bin"; exit 0; }
clang -target bpf -mcpu=v3 -O2 -g -Wall -Werror -idirafter "/usr/include/$multiarch" \
  -c "$dir/bpf/amt_tracker.bpf.c" -o "$out/amt_tracker.bpf.o" || fail "clang -target bpf"
"$bpftool" gen skeleton "$out/amt_tracker.bpf.o" name amt_tracker >"$out/amt_tracker.skel.h.tmp" ||
  fail "bpftool gen skeleton"
mv "$out/amt_tracker.skel.h.tmp" "$out/amt_tracker.skel.h"
"$cc" -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -I"$out" -I"$dir/bpf" -o "$bin.tmp" \
  "$dir"/loader/*.c -pthread -lbpf -lelf -lz || fail "compiling the loader"
mv "$bin.tmp" "$bin"
echo "build-ebpf: built $bin" >&2
