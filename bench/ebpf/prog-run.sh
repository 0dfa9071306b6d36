#!/usr/bin/env bash
# bench/ebpf/prog-run.sh: the tracker program's own time per packet, without the network and
# without a saturated core: prog_run.c runs the XDP program over the bench's frames with
# BPF_PROG_TEST_RUN (one frame a run, shuffled, 4,096 gateways, IPv4 and IPv6), beside the empty
# program, objects alternating, medians of rounds. See bench/ebpf/README.md.
#   bash bench/ebpf/prog-run.sh                 # the empty program and the worktree's tracker
#   BASE=<git revision> bash bench/ebpf/prog-run.sh   # ... and the tracker as of that revision, paired
#   bash bench/ebpf/prog-run.sh A.o B.o ...     # these objects (each with an XDP program)
# Knobs (env): ROUNDS (31) GATEWAYS (4096) UPDATE_EVERY (16) MAP_SIZE (65536) LOG_RECORDS (8192, 0: no count log)
# CPU (1) KEEP BASE.
# Needs root (BPF_PROG_TEST_RUN), clang, cc, libbpf-dev, Node 24. Runs a few seconds on one core.
set -euo pipefail

ROUNDS=${ROUNDS:-31}
GATEWAYS=${GATEWAYS:-4096}
UPDATE_EVERY=${UPDATE_EVERY:-16}
CPU=${CPU:-1}
KEEP=${KEEP:-0}
BASE=${BASE:-}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/ebpf
die() { echo "prog-run: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (BPF_PROG_TEST_RUN)"
for tool in node cc clang git taskset; do command -v "$tool" >/dev/null || die "$tool not found"; done
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ] || die "Node >= 24 needed, found $(node --version)"
[ -f /usr/include/bpf/libbpf.h ] || die "libbpf headers not found (Debian: libbpf-dev)"
mkdir -p "$ROOT/bench/out"
WORK=$(mktemp -d "$ROOT/bench/out/prog-run.XXXXXX")
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

multiarch=$(cc -print-multiarch 2>/dev/null || cc -dumpmachine)
bpf_cc() { clang -target bpf -mcpu=v3 -O2 -g -Wall -Werror -idirafter "/usr/include/$multiarch" "$@"; }
cc -O2 -Wall -Wextra -I"$ROOT/src/collectors/ebpf/bpf" -o "$WORK/prog_run" "$BENCH/prog_run.c" -lbpf -lelf -lz || die "could not build prog_run.c"
bpf_cc -c "$BENCH/xdp_pass.bpf.c" -o "$WORK/empty.o" || die "could not build xdp_pass.bpf.c"
node "$BENCH/frames.ts" "$WORK/frames.bin" "$GATEWAYS" "$UPDATE_EVERY" 02:00:00:00:00:01 02:00:00:00:00:02 10.213.0.1 fd00:213::1 >&2

objects=("$@")
if [ "${#objects[@]}" -eq 0 ]; then
  objects=("$WORK/empty.o")
  if [ -n "$BASE" ]; then
    mkdir -p "$WORK/base"
    for f in amt_tracker.bpf.c amt_tracker.h; do
      git show "$BASE:src/collectors/ebpf/bpf/$f" >"$WORK/base/$f" || die "no src/collectors/ebpf/bpf/$f at $BASE"
    done
    bpf_cc -c "$WORK/base/amt_tracker.bpf.c" -o "$WORK/tracker-base.o" || die "could not build the tracker at $BASE"
    objects+=("$WORK/tracker-base.o")
  fi
  bpf_cc -c "$ROOT/src/collectors/ebpf/bpf/amt_tracker.bpf.c" -o "$WORK/tracker.o" || die "could not build the tracker"
  objects+=("$WORK/tracker.o")
fi
echo "prog-run: kernel $(uname -r), CPU $CPU, load average $(cut -d' ' -f1-3 /proc/loadavg)${BASE:+, base $BASE}, worktree $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src/collectors/ebpf/bpf || echo '+changes')"
taskset -c "$CPU" "$WORK/prog_run" "$WORK/frames.bin" "$ROUNDS" "${objects[@]}"
