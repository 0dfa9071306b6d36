#!/usr/bin/env bash
# bench/ebpf: what driad's XDP tracker costs per packet. Packets per second through a veth pair
# between two network namespaces at saturation: with no program, with an empty XDP program (the
# control), with the tracker (driad's collector running the loader, consuming its events and
# snapshots) and with the capture fallback (the collector reading tcpdump). See bench/ebpf/README.md.
# Knobs (env): ROUNDS STEP_SECONDS STATS_SECONDS GATEWAYS UPDATE_EVERY SENDER_PRIO KEEP SERVER_CPU CLIENT_CPU FORWARD
# XDP_ATTACH MODES.
# Needs root. Only namespaces it makes; every process and namespace it made is removed on exit.
set -euo pipefail

ROUNDS=${ROUNDS:-5}               # rounds; each measures every mode once, order rotating
STEP_SECONDS=${STEP_SECONDS:-3}   # seconds of traffic per measurement
STATS_SECONDS=${STATS_SECONDS:-2} # seconds of traffic with kernel.bpf_stats_enabled=1 (pass and xdp modes, each round)
GATEWAYS=${GATEWAYS:-4096}        # gateway endpoints in the traffic (64 addresses, many ports each)
UPDATE_EVERY=${UPDATE_EVERY:-16}  # one Membership Update (a ring-buffer event) in this many frames, the rest Multicast Data
KEEP=${KEEP:-0}                   # 1: keep the work dir
PERF=${PERF:-0}                   # 1: perf record the sender's core during each step (WORK/perf.MODE.rROUND; with KEEP=1)
# 1 (the default): the frames reach the relay's veth through a router namespace whose ingress veth
# runs the empty XDP program, so they arrive as a NIC's driver hands them to XDP (a page-pool
# buffer with 256 bytes of headroom) and the relay's veth does not copy them (README: "veth's
# copy"). 0: one veth pair, the sender's frames straight to the relay's veth, which copies each.
FORWARD=${FORWARD:-1}
# How pass and xdp attach on the relay's veth: native (veth's own XDP: it then receives through
# its NAPI ring instead of the backlog) or generic (skb-mode XDP: the receive path keeps its
# shape, and the program runs on the skb). README: "The path".
XDP_ATTACH=${XDP_ATTACH:-native}
# The modes measured, each once a round, order rotating.
read -r -a MODES <<<"${MODES:-none pass xdp capture}"
case $XDP_ATTACH in native) XDP_LINK_MODE=xdpdrv ;; generic) XDP_LINK_MODE=xdpgeneric ;; *) echo "ebpf: XDP_ATTACH must be native or generic" >&2; exit 2 ;; esac
# The sender runs SCHED_FIFO: on a shared machine other work would otherwise take its core for
# part of each step and the rates would measure that. The kernel's RT throttling
# (sched_rt_runtime_us) still leaves that core 5% for others. SENDER_PRIO= (empty) to run it normally.
SENDER_PRIO=${SENDER_PRIO-chrt -f 50}

# The sender on one core: the veth hands each frame to the receive path in the sender's own
# softirq, so that core does the whole path measured. The collector, loader and tcpdump on the other.
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/ebpf

BENCH_NAME=ebpf
SENDER_PID=
COLLECTOR_PID=
bench_pids() { echo "$SENDER_PID $COLLECTOR_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP, packet sockets)"
bench_install_debs clang libbpf-dev bpftool tcpdump gcc
bench_setup "Debian: clang libbpf-dev bpftool tcpdump gcc" node cc clang bpftool tcpdump ip taskset chrt
BEGAN=$SECONDS
LOADER=$ROOT/src/collectors/ebpf/build/driad-amt-loader
[ -x "$LOADER" ] || die "$LOADER not built (scripts/build-native.sh)"

# --- the namespaces ---------------------------------------------------------------------------------
TAG=$$
NS_GW=driad-bench-gw-$TAG
NS_RELAY=driad-bench-relay-$TAG
NS_MID=driad-bench-mid-$TAG
IF_MID_IN=bmi$TAG
IF_MID_OUT=bmo$TAG
IF_GW=bgw$TAG
IF_RELAY=brl$TAG
RELAY_IP=10.213.0.1
STATS_BEFORE=$(sysctl -n kernel.bpf_stats_enabled)
ebpf_cleanup() {
  local status=$?
  sysctl -qw kernel.bpf_stats_enabled="$STATS_BEFORE" || true
  ip netns del "$NS_GW" 2>/dev/null || true
  ip netns del "$NS_RELAY" 2>/dev/null || true
  if [ "$FORWARD" = 1 ]; then ip netns del "$NS_MID" 2>/dev/null || true; fi
  (exit "$status")
  bench_cleanup
}
trap ebpf_cleanup EXIT
ip netns add "$NS_GW"
ip netns add "$NS_RELAY"
if [ "$FORWARD" = 1 ]; then
  ip netns add "$NS_MID"
  ip link add "$IF_GW" netns "$NS_GW" type veth peer name "$IF_MID_IN" netns "$NS_MID"
  ip link add "$IF_MID_OUT" netns "$NS_MID" type veth peer name "$IF_RELAY" netns "$NS_RELAY"
else
  ip link add "$IF_GW" netns "$NS_GW" type veth peer name "$IF_RELAY" netns "$NS_RELAY"
fi
ip -n "$NS_RELAY" addr add "$RELAY_IP/16" dev "$IF_RELAY"
ip -n "$NS_RELAY" link set "$IF_RELAY" up
ip -n "$NS_RELAY" link set lo up
ip -n "$NS_GW" link set "$IF_GW" up
# Nothing listens on 2268 in the relay's namespace: every datagram ends at the UDP layer
# (NoPorts), and no ICMP Port Unreachable is sent back (a rate of 0 allows none).
ip netns exec "$NS_RELAY" sysctl -qw net.ipv4.icmp_msgs_per_sec=0 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IF_RELAY.rp_filter=0"
GW_MAC=$(ip netns exec "$NS_GW" cat "/sys/class/net/$IF_GW/address")
RELAY_MAC=$(ip netns exec "$NS_RELAY" cat "/sys/class/net/$IF_RELAY/address")
NEXT_MAC=$RELAY_MAC # where the sender's frames go
if [ "$FORWARD" = 1 ]; then
  # The router: an address on each side, a host route to the relay through the second veth and
  # the relay's MAC fixed (no ARP during the measurement).
  ip -n "$NS_MID" link set "$IF_MID_IN" up
  ip -n "$NS_MID" link set "$IF_MID_OUT" up
  ip -n "$NS_MID" addr add 10.212.0.254/24 dev "$IF_MID_IN"
  ip -n "$NS_MID" addr add 10.214.0.254/24 dev "$IF_MID_OUT"
  ip -n "$NS_MID" route add "$RELAY_IP/32" dev "$IF_MID_OUT"
  ip -n "$NS_MID" neigh add "$RELAY_IP" lladdr "$RELAY_MAC" dev "$IF_MID_OUT"
  ip netns exec "$NS_MID" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IF_MID_IN.rp_filter=0"
  NEXT_MAC=$(ip netns exec "$NS_MID" cat "/sys/class/net/$IF_MID_IN/address")
fi

# --- the sender, the frames, the control program -----------------------------------------------------
cc -O2 -Wall -o "$WORK/sender" "$BENCH/sender.c" || die "could not build the sender"
clang -target bpf -O2 -g -Wall -idirafter "/usr/include/$(gcc -print-multiarch)" -c "$BENCH/xdp_pass.bpf.c" -o "$WORK/xdp_pass.o" ||
  die "could not build xdp_pass.bpf.c"
node "$BENCH/frames.ts" "$WORK/frames.bin" "$GATEWAYS" "$UPDATE_EVERY" "$GW_MAC" "$NEXT_MAC" "$RELAY_IP" >"$WORK/frames.txt"
if [ "$FORWARD" = 1 ]; then ip -n "$NS_MID" link set dev "$IF_MID_IN" xdpdrv obj "$WORK/xdp_pass.o" sec xdp; fi
log "$(cat "$WORK/frames.txt")"

# --- measuring ------------------------------------------------------------------------------------
# Datagrams the relay namespace's UDP layer took in (to a socket, to no socket, in error).
udp_in() { ip netns exec "$NS_RELAY" awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $2 + $3 + $4}' /proc/net/snmp; }
# "busy total" jiffies of one CPU.
cpu_ticks() { awk -v c="cpu$1" '$1 == c {b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6}' /proc/stat; }
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$2"; }
xdp_prog_id() { ip -n "$NS_RELAY" -j -d link show dev "$IF_RELAY" | sed -n 's/.*"xdp":{[^}]*"prog":{[^}]*"id":\([0-9]*\).*/\1/p'; }

# send SECONDS OUT: the sender in the gateways' namespace on CLIENT_CPU.
send() {
  taskset -c "$CLIENT_CPU" $SENDER_PRIO ip netns exec "$NS_GW" "$WORK/sender" "$IF_GW" "$1" "$WORK/frames.bin" >"$2" &
  SENDER_PID=$!
  wait "$SENDER_PID" || die "sender failed: $(cat "$2")"
  SENDER_PID=
}

start_collector() {
  local log=$WORK/collector.$1.r$2.log
  taskset -c "$SERVER_CPU" ip netns exec "$NS_RELAY" node "$BENCH/collector.ts" "$RELAY_IP" "$1" "$XDP_ATTACH" >"$log" 2>&1 &
  COLLECTOR_PID=$!
  local deadline=$((SECONDS + 30))
  until grep -qs '^ready ' "$log"; do
    kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$log" >&2; die "the collector ($1) exited"; }
    [ "$SECONDS" -lt "$deadline" ] || { cat "$log" >&2; die "the collector ($1) did not start within 30 s"; }
    sleep 0.1
  done
  # The loader or tcpdump it started, on the collector's core too.
  CHILD_PID=$(awk '/^ready / {print $4}' "$log")
  [ -n "$CHILD_PID" ] && taskset -apc "$SERVER_CPU" "$CHILD_PID" >/dev/null 2>&1 || true
}
CHILD_PID=
CLK_TCK=$(getconf CLK_TCK)
# utime + stime of processes still running, in ticks.
cpu_of() { local p t=0; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }
stop_collector() {
  kill -TERM "$COLLECTOR_PID" 2>/dev/null || true
  wait "$COLLECTOR_PID" 2>/dev/null || true
  COLLECTOR_PID=
}

# measure MODE ROUND: appends "mode round pps received seconds cpu_busy_fraction extra" to results.
measure() {
  local mode=$1 round=$2 base=$WORK/$1.r$2 extra=-
  case $mode in
    none) ;;
    pass) ip -n "$NS_RELAY" link set dev "$IF_RELAY" "$XDP_LINK_MODE" obj "$WORK/xdp_pass.o" sec xdp ;;
    xdp | capture) start_collector "$mode" "$round" ;;
  esac
  [ "$mode" = none ] || [ "$mode" = capture ] || [ -n "$(xdp_prog_id)" ] || die "$mode: no XDP program on $IF_RELAY"
  local u0 u1 c0 c1 p0=0 p1=0 l0=0 l1=0
  u0=$(udp_in)
  c0=$(cpu_ticks "$CLIENT_CPU")
  [ -n "$COLLECTOR_PID" ] && p0=$(cpu_of "$COLLECTOR_PID" "$CHILD_PID") && l0=$(cpu_of "$CHILD_PID")
  local perf_pid=
  if [ "$PERF" = 1 ]; then
    perf record -q -C "$CLIENT_CPU" -g -o "$WORK/perf.$mode.r$round" -- sleep "$STEP_SECONDS" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  send "$STEP_SECONDS" "$base.sent"
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  u1=$(udp_in)
  c1=$(cpu_ticks "$CLIENT_CPU")
  [ -n "$COLLECTOR_PID" ] && p1=$(cpu_of "$COLLECTOR_PID" "$CHILD_PID") && l1=$(cpu_of "$CHILD_PID")
  if [ "$mode" = xdp ] || [ "$mode" = pass ]; then
    # The program's own time per run, from the kernel's BPF statistics (off again at once: they cost a clock read per run).
    local id s0 s1
    id=$(xdp_prog_id)
    sysctl -qw kernel.bpf_stats_enabled=1
    s0=$(bpftool -j prog show id "$id" | sed 's/.*"run_time_ns":\([0-9]*\),"run_cnt":\([0-9]*\).*/\1 \2/;t;s/.*/0 0/')
    send "$STATS_SECONDS" "$base.stats.sent"
    s1=$(bpftool -j prog show id "$id" | sed 's/.*"run_time_ns":\([0-9]*\),"run_cnt":\([0-9]*\).*/\1 \2/;t;s/.*/0 0/')
    sysctl -qw kernel.bpf_stats_enabled="$STATS_BEFORE"
    echo "$s0 $s1" | awk '{if ($4 > $2) printf "%.1f\n", ($3 - $1) / ($4 - $2); else print "-"}' >"$base.runtime"
  fi
  case $mode in
    pass) ip -n "$NS_RELAY" link set dev "$IF_RELAY" "$XDP_LINK_MODE" off ;;
    xdp | capture)
      stop_collector
      extra=$(tail -1 "$WORK/collector.$mode.r$round.log" | node -e '
        const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const total = Object.values(s.packets).reduce((a, b) => a + b, 0);
        console.log(s.mode === "xdp" ? `updates=${s.packets.update},ringbufDrops=${s.loader.ringbufDrops},logged=${s.loader.logged},logFull=${s.loader.logFull},entries=${s.entries}` : `decoded=${total},entries=${s.entries}`);' 2>/dev/null || echo "collector-summary-missing")
      [ "$mode" = xdp ] && extra="$extra,ns/run=$(cat "$base.runtime")"
      # The collector's and its child's CPU (the other core) per packet that went through.
      per_packet() { awk -v d="$1" -v t="$CLK_TCK" -v g=$((u1 - u0)) 'BEGIN {printf "%.0f", (g > 0 ? d / t * 1e9 / g : 0)}'; }
      extra="$extra,collector_cpu_ns/packet=$(per_packet $((p1 - p0))),of_which_loader_or_tcpdump=$(per_packet $((l1 - l0)))"
      ;;
  esac
  local got secs
  got=$((u1 - u0))
  secs=$(field seconds "$base.sent")
  # Fields: mode round rate received seconds cpu_busy_fraction extra.
  echo "$mode $round $(awk -v g="$got" -v s="$secs" 'BEGIN {printf "%.0f", g / s}') $got $secs $(echo "$c0 $c1" | awk '{d = $4 - $2; printf "%.2f", (d > 0 ? ($3 - $1) / d : 0)}') $extra" >>"$WORK/results"
  log "round $round $mode: $(tail -1 "$WORK/results")"
}

: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  for i in "${!MODES[@]}"; do measure "${MODES[$(((i + round - 1) % ${#MODES[@]}))]}" "$round"; done
done

# --- summary ----------------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
rate_of() { awk -v m="$1" '$1 == m {print $3}' "$WORK/results" | median; }
# Each round's difference in time per packet, A less B.
per_packet_of() { awk -v a="$1" -v b="$2" '$1 == a {ra[$2] = $3} $1 == b {rb[$2] = $3} END {for (r in ra) if ((r in rb) && ra[r] > 0 && rb[r] > 0) print 1e9 / ra[r] - 1e9 / rb[r]}' "$WORK/results"; }
# paired A B: the median over rounds of 1e9/rate_A - 1e9/rate_B within each round; - without both.
paired() {
  local d
  d=$(per_packet_of "$1" "$2")
  if [ -z "$d" ]; then echo -; else echo "$d" | median | awk '{printf "%.1f", $1}'; fi
}
# spread A B: the lowest and highest of those differences, for how far to trust the median.
spread() {
  per_packet_of "$1" "$2" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) printf "%.0f to %.0f over %d rounds", lo, hi, NR; else print "-"}'
}
runtime_of() {
  local r
  r=$({ cat "$WORK"/"$1".r*.runtime 2>/dev/null || true; } | { grep -v "^-$" || true; })
  if [ -z "$r" ]; then echo -; else echo "$r" | median; fi
}
RUNTIME=$(runtime_of xdp)
PASS_RUNTIME=$(runtime_of pass)
{
  if [ "$FORWARD" = 1 ]; then path="gateways -> veth (empty XDP program) -> router namespace -> veth -> relay, $XDP_ATTACH XDP"; else path="veth between two namespaces, $XDP_ATTACH XDP"; fi
  echo "ebpf: $(sed 's/^frames: //' "$WORK/frames.txt"); $path; $ROUNDS round(s) of ${STEP_SECONDS}s per mode, medians"
  echo "sender (packet socket, sendmmsg) and the receive path on CPU $CLIENT_CPU; collector, loader, tcpdump on CPU $SERVER_CPU; kernel $(uname -r)"
  printf '%-8s %12s %12s %10s  %s\n' mode "packets/s" "ns/packet" "cpu$CLIENT_CPU busy" "per round (packets/s) [last round's collector]"
  for m in "${MODES[@]}"; do
    printf '%-8s %12s %12s %10s  %s [%s]\n' "$m" "$(rate_of "$m")" "$(awk -v r="$(rate_of "$m")" 'BEGIN {printf "%.1f", (r > 0 ? 1e9 / r : 0)}')" \
      "$(awk -v m="$m" '$1 == m {print $6}' "$WORK/results" | median)" \
      "$(awk -v m="$m" '$1 == m {printf "%s ", $3}' "$WORK/results")" "$(awk -v m="$m" '$1 == m {e = $7} END {print e}' "$WORK/results")"
  done
  echo "none: no program; pass: an empty XDP program (XDP_PASS), the cost of veth's XDP path alone; xdp: driad's collector with the loader (XDP + tcx egress); capture: the collector on tcpdump"
  echo "overheads: the median over rounds of each round's difference in ns/packet (the modes of a round run one after another, so the machine's drift between rounds cancels)"
  printf 'empty program overhead ns/packet: %s; tracker over the empty program: %s; capture overhead ns/packet: %s\n' \
    "$(paired pass none)" "$(paired xdp pass)" "$(paired capture none)"
  echo "program run time (bpf_stats run_time_ns / run_cnt, median over rounds; the statistics' clock reads are in both): tracker $RUNTIME ns/run, empty program $PASS_RUNTIME ns/run"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg); run time $((SECONDS - BEGAN)) s"
  echo "xdp - none per round: $(spread xdp none)"
  echo "xdp overhead ns/packet: $(paired xdp none)"
} | tee "$WORK/summary"
