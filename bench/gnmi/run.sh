#!/usr/bin/env bash
# bench/gnmi: driad's gNMI collector under MX simulators streaming 500,000 tunnels each, and driad's
# DNS meanwhile. See bench/gnmi/README.md. Knobs (env): MX TUNNELS BUNDLE CHURN SAMPLE_MS WORKER_NICE SIM_NICE DURATION
# RATE_WINDOW SYNC_TIMEOUT SOURCES SEED CLIENTS OUTSTANDING WARMUP KEEP.
# Loopback only; ports are picked free at run time; every process started here is stopped on exit.
set -euo pipefail

MX=${MX:-2}                     # simulated MX relays, one simulator process each
TUNNELS=${TUNNELS:-500000}      # active AMT tunnels per MX
BUNDLE=${BUNDLE:-100}           # tunnel entries per gNMI notification (the simulator's `bundle`)
CHURN=${CHURN:-1000}            # tunnels leaving and arriving per second per MX
SAMPLE_MS=${SAMPLE_MS:-2000}    # gnmi.sampleIntervalMs: shorter than a round, so rounds run back to back
SIM_NICE=${SIM_NICE:-10}        # nice value of the simulator processes (dnsperf shares their core)
WORKER_NICE=${WORKER_NICE:-15}  # gnmi.workerNice (0: the worker thread at the DNS thread's priority)
DURATION=${DURATION:-20}        # seconds of each dnsperf run
RATE_WINDOW=${RATE_WINDOW:-20}  # seconds of the update-rate window without DNS load
SYNC_TIMEOUT=${SYNC_TIMEOUT:-240} # seconds allowed for every session's first sync_response
SOURCES=${SOURCES:-100000}      # the dns-qps workload (bench/dns-qps/gen.ts), same defaults
SEED=${SEED:-8777}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
WARMUP=${WARMUP:-3}
KEEP=${KEEP:-0}

# driad (all its threads, the gNMI worker included) on one core; the simulators and dnsperf on the other.
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/gnmi

BENCH_NAME=gnmi
SERVER_PID=
DNSPERF_PID=
MX_PIDS=()
bench_pids() { echo "$DNSPERF_PID ${MX_PIDS[*]} $SERVER_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "Debian: dnsperf bind9-dnsutils curl" node dnsperf dig curl taskset ss
[ "$MX" -ge 1 ] || die "MX must be at least 1"

log "generating the dns-qps workload: $SOURCES sources, seed $SEED"
node "$ROOT/bench/dns-qps/gen.ts" --out "$WORK" --sources "$SOURCES" --seed "$SEED" \
  --driad-zone "$ROOT/zones/amt.in-addr.arpa.zone" >&2

# --- config: MX 1 is amtRelay (the seed's shape), the others relays[] juniper entries ---------------
MX_PORTS=()
for i in $(seq "$MX"); do MX_PORTS+=("$(free_port)"); done
{
  cat <<EOF
amtRelay:
  amtRelayPublicIP: 69.25.95.1
  gnmiTarget: 127.0.0.1:${MX_PORTS[0]}
  gnmiAuthMode: password
  gnmiUsername: driad
  maxTunnels: 2000000
relays:
EOF
  for i in $(seq 2 "$MX"); do
    echo "  - { name: mx$i, kind: juniper, ipv4: 69.25.95.$i, precedence: 10, gnmiTarget: 127.0.0.1:${MX_PORTS[$((i - 1))]}, maxTunnels: 2000000 }"
  done
  [ "$MX" -gt 1 ] || echo "  []"
  cat <<EOF
gnmi:
  enabled: true
  plaintext: true
  sampleIntervalMs: $SAMPLE_MS
  heartbeatIntervalMs: 0
  workerNice: $WORKER_NICE
  backoff: { initialMs: 200, maxMs: 1000 }
  syncTimeoutMs: $((SYNC_TIMEOUT * 1000))
  paths:
    - { path: /interfaces/interface/state/counters, mode: sample }
    - { path: /interfaces/interface/state/oper-status, mode: on_change }
    - { path: /interfaces/interface/state/high-speed, mode: on_change }
    - { path: /junos/amt/summary, mode: on_change }
    - { path: /junos/amt/statistics, mode: sample }
    - { path: /junos/amt/tunnels/tunnel, mode: sample }
EOF
} >"$WORK/driad.yaml"
sed -i '/^relays:$/{N;s/relays:\n  \[\]/relays: []/}' "$WORK/driad.yaml"

# --- driad ------------------------------------------------------------------------------------------
DNS_PORT=
HTTP_PORT=
start_driad() { start_with_retries driad "$WORK/driad.log"; }
try_start_driad() {
  DNS_PORT=$(free_port)
  HTTP_PORT=$(free_port)
  [ "$HTTP_PORT" != "$DNS_PORT" ] || HTTP_PORT=$(free_port)
  # --inspect: heap.ts forces GCs and reads the heaps through it (loopback, port chosen by the kernel).
  GNMI_PASSWORD=gnmi-sim-password taskset -c "$SERVER_CPU" node --inspect=127.0.0.1:0 "$ROOT/src/main.ts" serve \
    --config "$WORK/driad.yaml" --dns-listen "127.0.0.1:$DNS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
    --doh-listen 127.0.0.1:0 >>"$WORK/driad.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 20))
  until dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" 1.0.0.10.amt.in-addr.arpa A 2>/dev/null |
    grep -qE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/driad.log" >&2; die "driad did not answer within 20 s"; }
    sleep 0.2
  done
}

metrics() { curl -sf "http://127.0.0.1:$HTTP_PORT/metrics"; }
# Sum of a metric over all its series (every relay).
metric_sum() { metrics | awk -v m="$1" '$1 ~ "^" m "({|$)" {s += $NF} END {printf "%.0f\n", s}'; }
loop_delay_ms() { metrics | awk -v q="$1" '$1 == "driad_event_loop_delay_seconds{quantile=\"" q "\"}" {printf "%.1f", $2 * 1000}'; }
heap() { node "$BENCH/heap.ts" "$(grep -o 'ws://127.0.0.1:[0-9]*/[0-9a-f-]*' "$WORK/driad.log" | head -1)"; }
json() { node -e 'const o = JSON.parse(process.argv[1]); console.log(o[process.argv[2]])' "$1" "$2"; }
cpu_ticks() { awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
busy_pct() { echo "$1 $2" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}'; }

# --- DNS under dnsperf: "qps avg_latency_ms loop_p99_ms loop_max_ms server_core% client_core%" -------
DNSPERF_ARGS=(-s 127.0.0.1 -d "$WORK/queries.txt" -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2)
dns_run() {
  local name=$1 out=$WORK/dnsperf.$1 s0 c0 s1 c1
  taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$DURATION" >"$out" 2>&1 &
  DNSPERF_PID=$!
  sleep 1
  s0=$(cpu_ticks "$SERVER_CPU") c0=$(cpu_ticks "$CLIENT_CPU")
  sleep $((DURATION - 2))
  s1=$(cpu_ticks "$SERVER_CPU") c1=$(cpu_ticks "$CLIENT_CPU")
  # The event-loop gauges cover the last complete 5 s window: inside the run from DURATION >= 8.
  local p99 max
  p99=$(loop_delay_ms 0.99) max=$(loop_delay_ms 1)
  wait "$DNSPERF_PID" || die "dnsperf failed ($name): $(tail -5 "$out")"
  DNSPERF_PID=
  local qps lat rcodes
  qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$out")
  lat=$(awk '/Average Latency/ {printf "%.3f", $4 * 1000}' "$out")
  rcodes=$(sed -n 's/.*Response codes: *//p' "$out")
  [ -n "$qps" ] || die "could not parse dnsperf output: $out"
  echo "$rcodes" | grep -q NOERROR || die "dnsperf ($name): no NOERROR answers: $rcodes"
  log "dns $name: qps $qps, avg latency $lat ms, event-loop delay p99 $p99 ms max $max ms [$rcodes]"
  echo "$qps $lat $p99 $max $(busy_pct "$s0" "$s1") $(busy_pct "$c0" "$c1")"
}

start_driad
taskset -apc "$SERVER_CPU" "$SERVER_PID" >/dev/null
log "driad on CPU $SERVER_CPU, DNS 127.0.0.1:$DNS_PORT, $MX MX sessions configured (simulators not started yet)"
if [ "$WARMUP" -gt 0 ]; then
  taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$WARMUP" >"$WORK/dnsperf.warmup" 2>&1
fi

# 1. DNS without a gNMI stream (the sessions find no MX and retry every second at most).
before=$(dns_run before)
heap0=$(heap)
log "heap without tunnels: $heap0"

# 2. The MX simulators, one process each, on the load core, niced (SIM_NICE) so that dnsperf, which
# shares that core with them, is not what limits the DNS figure.
for i in $(seq "$MX"); do
  nice -n "$SIM_NICE" taskset -c "$CLIENT_CPU" node "$BENCH/mx.ts" --tunnels "$TUNNELS" --bundle "$BUNDLE" --churn "$CHURN" \
    --port "${MX_PORTS[$((i - 1))]}" >"$WORK/mx$i.out" 2>&1 &
  MX_PIDS+=($!)
done
for i in $(seq "$MX"); do
  for _ in $(seq 100); do grep -q '^address ' "$WORK/mx$i.out" && break; sleep 0.2; done
  grep -q '^address ' "$WORK/mx$i.out" || die "simulator $i did not start: $(tail -5 "$WORK/mx$i.out")"
done
t0=$SECONDS
until [ "$(metric_sum driad_gnmi_synced)" = "$MX" ]; do
  [ $((SECONDS - t0)) -lt "$SYNC_TIMEOUT" ] || die "not every session synced within $SYNC_TIMEOUT s: $(metrics | grep -E '^driad_gnmi_(synced|errors)')"
  sleep 1
done
sync_s=$((SECONDS - t0))
r_sync=$(metric_sum driad_gnmi_reconnects_total) e_sync=$(metric_sum driad_gnmi_errors_total)
log "all $MX sessions synced in ${sync_s} s ($TUNNELS tunnels each)"

# 3. Update rate without DNS load, then DNS during the stream (its update rate too).
u0=$(metric_sum driad_gnmi_updates_total) d0=$(metric_sum driad_gnmi_dropped_total) t=$(date +%s.%N)
s0=$(cpu_ticks "$SERVER_CPU")
sleep "$RATE_WINDOW"
u1=$(metric_sum driad_gnmi_updates_total) d1=$(metric_sum driad_gnmi_dropped_total) t1=$(date +%s.%N)
s1=$(cpu_ticks "$SERVER_CPU")
rate=$(echo "$u0 $u1 $t $t1" | awk '{printf "%.0f", ($2 - $1) / ($4 - $3)}')
rate_core=$(busy_pct "$s0" "$s1")
idle_p99=$(loop_delay_ms 0.99) idle_max=$(loop_delay_ms 1)
log "updates/s without DNS load: $rate (server core $rate_core%, event-loop delay p99 $idle_p99 ms max $idle_max ms)"

u2=$(metric_sum driad_gnmi_updates_total) t2=$(date +%s.%N)
during=$(dns_run during)
u3=$(metric_sum driad_gnmi_updates_total) t3=$(date +%s.%N) d3=$(metric_sum driad_gnmi_dropped_total)
rate_dns=$(echo "$u2 $u3 $t2 $t3" | awk '{printf "%.0f", ($2 - $1) / ($4 - $3)}')

# 4. Retained memory with every MX's tunnels in driad's state, then the stream stops.
heap1=$(heap)
log "heap with $MX x $TUNNELS tunnels: $heap1"
queued=$(metric_sum driad_gnmi_queue_depth)
reconnects=$(($(metric_sum driad_gnmi_reconnects_total) - r_sync))
errors=$(($(metric_sum driad_gnmi_errors_total) - e_sync))
for pid in "${MX_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${MX_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
MX_PIDS=()
sleep 2

# 5. DNS without the stream again (drift on a shared machine: the "without" figure is the mean of both).
after=$(dns_run after)

# --- report -------------------------------------------------------------------------------------------
tunnels_total=$((MX * TUNNELS))
per_tunnel() { echo "$1 $2" | awk -v n="$tunnels_total" '{printf "%.0f", ($2 - $1) / n}'; }
heap_bt=$(per_tunnel "$(($(json "$heap0" mainHeap) + $(json "$heap0" workerHeap)))" "$(($(json "$heap1" mainHeap) + $(json "$heap1" workerHeap)))")
worker_bt=$(per_tunnel "$(json "$heap0" workerHeap)" "$(json "$heap1" workerHeap)")
rss_bt=$(per_tunnel "$(json "$heap0" rss)" "$(json "$heap1" rss)")
read -r bq bl bp bm bs bc <<<"$before"
read -r wq wl wp wm ws wc <<<"$during"
read -r aq al ap am as ac <<<"$after"
without=$(echo "$bq $aq" | awk '{printf "%.0f", ($1 + $2) / 2}')

echo
echo "gnmi: $MX MX x $TUNNELS tunnels (bundle $BUNDLE, churn $CHURN/s, sample ${SAMPLE_MS} ms, worker nice $WORKER_NICE, PROTO, plaintext + password)," \
  "one simulator process each (nice $SIM_NICE); driad on CPU $SERVER_CPU, simulators and dnsperf on CPU $CLIENT_CPU"
echo "first sync of all sessions: ${sync_s} s; dropped responses: $((d3 - d0)) in the measured windows; queue at the end: $queued; after the sync: reconnects $reconnects, session errors $errors"
echo "updates decoded and applied/s: $rate without DNS load (server core $rate_core%), $rate_dns under dnsperf"
echo "dnsperf -c $CLIENTS -T 1 -q $OUTSTANDING -l $DURATION over UDP, the dns-qps workload ($SOURCES sources, seed $SEED)"
printf '%-22s %8s %12s %14s %14s %12s %13s\n' phase qps "avg lat ms" "loop p99 ms" "loop max ms" "server core%" "client core%"
printf '%-22s %8s %12s %14s %14s %12s %13s\n' "dns before the stream" "$bq" "$bl" "$bp" "$bm" "$bs" "$bc"
printf '%-22s %8s %12s %14s %14s %12s %13s\n' "dns during the stream" "$wq" "$wl" "$wp" "$wm" "$ws" "$wc"
printf '%-22s %8s %12s %14s %14s %12s %13s\n' "dns after the stream" "$aq" "$al" "$ap" "$am" "$as" "$ac"
echo "stream without dns: event-loop delay p99 $idle_p99 ms, max $idle_max ms"
echo "retained memory per tunnel after forced GCs: heap $heap_bt B (worker $worker_bt B), rss $rss_bt B" \
  "($tunnels_total tunnels; heap main+worker $(json "$heap0" mainHeap)+$(json "$heap0" workerHeap) -> $(json "$heap1" mainHeap)+$(json "$heap1" workerHeap) B)"
load=$(awk '{print $1}' /proc/loadavg)
if awk -v l="$load" 'BEGIN {exit !(l > 2.5)}'; then
  echo "note: load average $load at the end (2 cores): other processes were busy, figures are noisy"
fi
echo "dns qps during/without the stream: $(echo "$wq $without" | awk '{printf "%.2f", $1 / $2}') ($wq / $without)"
echo "gnmi updates/s: $rate, bytes/tunnel: $heap_bt"
