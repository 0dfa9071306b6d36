#!/usr/bin/env bash
# bench/dns-qps/profile.sh: where driad's time goes under the dns-qps load. One driad, pinned like
# in run.sh, loaded by dnsperf with the same workload and settings, and three views of it:
#   - node --cpu-prof: JavaScript self time per function (cpuprofile-top.ts), idle excluded;
#   - perf (Debian linux-perf), where the kernel lets it sample: CPU split by binary (kernel, node,
#     JIT code, the addon) and the top symbols, JIT frames named through --perf-basic-prof;
#   - system calls per query (perf's syscall tracepoints) and datagrams per recvmmsg (driad's metrics).
# Knobs (env): DURATION (10) SOURCES SEED CLIENTS OUTSTANDING QPS (empty: closed loop; a number:
# dnsperf -Q) KEEP. Loopback only; stops what it started.
set -euo pipefail

DURATION=${DURATION:-10}
SOURCES=${SOURCES:-100000}
SEED=${SEED:-8777}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
QPS=${QPS:-}
KEEP=${KEEP:-0}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/dns-qps
BENCH_NAME=dns-qps-profile
BENCH_DEBS="dnsperf bind9-dnsutils linux-perf"
SERVER_PID=
DNSPERF_PID=
PERF_PID=
bench_pids() { echo "$DNSPERF_PID $PERF_PID $SERVER_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "Debian: dnsperf bind9-dnsutils linux-perf" node dnsperf dig taskset ss

node "$BENCH/gen.ts" --out "$WORK" --sources "$SOURCES" --seed "$SEED" --driad-zone "$ROOT/zones/amt.in-addr.arpa.zone" >&2
DNSPERF_ARGS=(-s 127.0.0.1 -d "$WORK/queries.txt" -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2)
[ -z "$QPS" ] || DNSPERF_ARGS+=(-Q "$QPS")

# perf works if the kernel lets this process sample (perf_event_paranoid, a container's seccomp).
PERF=
if command -v perf >/dev/null && perf stat -e task-clock -- true >/dev/null 2>&1; then PERF=perf; fi

DNS_PORT=$(free_port)
HTTP_PORT=$(free_port)
[ "$HTTP_PORT" != "$DNS_PORT" ] || HTTP_PORT=$(free_port)
# --perf-basic-prof writes /tmp/perf-PID.map (removed at the end) and a V8 log (into WORK).
taskset -c "$SERVER_CPU" node --cpu-prof --cpu-prof-dir="$WORK/prof" ${PERF:+--perf-basic-prof --logfile="$WORK/v8.log"} "$ROOT/src/main.ts" \
  --dns-listen "127.0.0.1:$DNS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" --doh-listen 127.0.0.1:0 >"$WORK/driad.log" 2>&1 &
SERVER_PID=$!
PERF_MAP=/tmp/perf-$SERVER_PID.map
trap 'st=$?; rm -f "$PERF_MAP"; (exit $st); bench_cleanup' EXIT
deadline=$((SECONDS + 20))
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" 1.0.0.10.amt.in-addr.arpa A 2>/dev/null | grep -qE '^[0-9.]+$'; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "driad exited: $(tail -5 "$WORK/driad.log")"
  [ "$SECONDS" -lt "$deadline" ] || die "driad did not answer within 20 s"
  sleep 0.2
done
taskset -apc "$SERVER_CPU" "$SERVER_PID" >/dev/null

metric() {
  node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), () => {})' "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk -v m="$1" '$1 == m {print $2}'
}
ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$SERVER_PID/stat"; }

log "warming up 3 s"
taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l 3 >"$WORK/warmup" 2>&1
b0=$(metric driad_dns_udp_batches_total) d0=$(metric driad_dns_udp_batch_datagrams_total) t0=$(ticks)
if [ -n "$PERF" ]; then
  # Two passes would be fairer to each tool, but one run keeps the load identical for both views.
  perf record -q -F 999 -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$DURATION" 2>"$WORK/perf-record.err" &
  PERF_PID=$!
  perf stat -x, -e 'syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_wait,context-switches' \
    -p "$SERVER_PID" -o "$WORK/perf-stat.csv" -- sleep "$DURATION" 2>/dev/null &
  STAT_PID=$!
fi
log "profiling driad for $DURATION s under dnsperf ${QPS:+-Q $QPS }-c $CLIENTS -q $OUTSTANDING"
taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$DURATION" >"$WORK/dnsperf" 2>&1
t1=$(ticks) b1=$(metric driad_dns_udp_batches_total) d1=$(metric driad_dns_udp_batch_datagrams_total)
[ -z "$PERF" ] || { wait "$PERF_PID" || true; wait "$STAT_PID" || true; PERF_PID=; }
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=

answered=$(awk '/Queries completed:/ {print $3}' "$WORK/dnsperf")
echo "dns-qps profile: $(awk '/Queries per second:/ {printf "%.0f", $4}' "$WORK/dnsperf") qps, $answered answered in $DURATION s;" \
  "driad cpu $(awk -v t=$((t1 - t0)) -v n="$answered" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}') us/query" \
  "(/proc/PID/stat, profilers' overhead included); datagrams per recvmmsg: $(awk -v b=$((b1 - b0)) -v d=$((d1 - d0)) 'BEGIN {printf "%.1f", (b > 0 ? d / b : 0)}')"
echo
echo "== node --cpu-prof: JavaScript self time (the whole process life; '(idle)' is the event loop waiting or in C++/the kernel)"
node "$BENCH/cpuprofile-top.ts" "$WORK"/prof/*.cpuprofile --top 30
if [ -z "$PERF" ]; then
  echo
  echo "== perf: not usable here ($(perf stat -e task-clock -- true 2>&1 | head -1 || echo 'not installed'))"
  exit 0
fi
echo
echo "== perf: CPU by binary (kernel = system calls and the loopback delivery they do)"
perf report -i "$WORK/perf.data" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep . | sed -n 1,8p
echo
echo "== perf: system calls under the load (per answered query)"
awk -F, -v n="$answered" '$1 ~ /^[0-9]+$/ {printf "%-36s %10d  %.3f per query\n", $3, $1, $1 / n}' "$WORK/perf-stat.csv"
echo
echo "== perf: top symbols, self time ([k] kernel, [.] user space; JS:* is JIT-compiled JavaScript)"
perf report -i "$WORK/perf.data" --no-children --sort sym -g none 2>/dev/null | grep -v '^#' | grep . | sed -n 1,40p
echo
echo "== perf: time inside each system call and inside the addon's JavaScript call, children included"
perf report -i "$WORK/perf.data" --children --sort sym -g none 2>/dev/null | grep -v '^#' |
  grep -E '__x64_sys_|napi_call_function|on_readable|uv__io_poll|handle_softirqs' | sed -n 1,12p
