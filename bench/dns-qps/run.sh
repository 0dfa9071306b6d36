#!/usr/bin/env bash
# bench/dns-qps: driad vs Knot DNS on the same DRIAD workload, measured with dnsperf over UDP.
# See bench/dns-qps/README.md. Knobs (env): DURATION ROUNDS SOURCES SEED CLIENTS OUTSTANDING
# WARMUP LAT_QPS LAT_DURATION KEEP.
# Loopback only; ports are picked free at run time; every process started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-15}        # seconds of each throughput run
ROUNDS=${ROUNDS:-3}             # rounds; each round measures both servers, order alternating
SOURCES=${SOURCES:-100000}      # distinct multicast sources in the workload
SEED=${SEED:-8777}              # workload seed: same seed, same query file
CLIENTS=${CLIENTS:-4}           # dnsperf -c
OUTSTANDING=${OUTSTANDING:-200} # dnsperf -q: at 500 the single-threaded servers' UDP receive buffers overflow
WARMUP=${WARMUP:-3}             # seconds of unmeasured load after each start (JIT, caches)
LAT_QPS=${LAT_QPS:-10000}       # fixed offered load of the latency run
LAT_DURATION=${LAT_DURATION:-5} # seconds of the latency run
KEEP=${KEEP:-0}                 # 1: keep the work dir (queries, zone, logs, dnsperf outputs)

# CPU pinning on the 2-core machine: the server (all its threads) on one core, dnsperf on the other.
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/dns-qps

BENCH_NAME=dns-qps
SERVER_PID=
PROBE_PID=
DNSPERF_PID=
bench_pids() { echo "$DNSPERF_PID $SERVER_PID $PROBE_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "Debian: knot dnsperf bind9-dnsutils" node dnsperf dig knotd taskset ss

# --- workload -------------------------------------------------------------------------------------
log "generating workload: $SOURCES sources, seed $SEED -> $WORK"
node "$BENCH/gen.ts" --out "$WORK" --sources "$SOURCES" --seed "$SEED" \
  --driad-zone "$ROOT/zones/amt.in-addr.arpa.zone" >&2

# dnsperf must send qtype 260 for "TYPE260" lines: replay the probe file against a responder that counts qtypes.
node "$BENCH/qtype-probe.ts" --expect 1000 >"$WORK/probe.out" 2>&1 &
PROBE_PID=$!
for _ in $(seq 100); do grep -q '^port ' "$WORK/probe.out" && break; sleep 0.1; done
probe_port=$(sed -n 's/^port //p' "$WORK/probe.out")
[ -n "$probe_port" ] || die "qtype probe did not start: $(cat "$WORK/probe.out")"
dnsperf -s 127.0.0.1 -p "$probe_port" -d "$WORK/probe.txt" -n 1 -t 2 >"$WORK/probe.dnsperf" 2>&1 || true
wait "$PROBE_PID" || true
PROBE_PID=
probe_counts=$(grep '^qtypes' "$WORK/probe.out" || true)
want="qtypes 1=$(grep -c ' A$' "$WORK/probe.txt") 260=$(grep -c ' TYPE260$' "$WORK/probe.txt")"
[ "$probe_counts" = "$want" ] || die "dnsperf sent '$probe_counts', expected '$want'"
log "dnsperf qtype check OK ($probe_counts)"

# --- servers --------------------------------------------------------------------------------------
DNS_PORT=

# start_driad / start_knot: up to 3 tries with fresh ports when a port was taken meanwhile.
start_driad() { start_with_retries driad "$WORK/driad.log"; }
start_knot() { start_with_retries knot "$WORK/knotd.log"; }

# Returns 1 if the server exited during startup (the caller looks at the log), dies on a timeout.
try_start_driad() {
  DNS_PORT=$(free_port)
  local http_port
  http_port=$(free_port)
  [ "$http_port" != "$DNS_PORT" ] || http_port=$(free_port)
  taskset -c "$SERVER_CPU" node "$ROOT/src/main.ts" --dns-listen "127.0.0.1:$DNS_PORT" \
    --http-listen "127.0.0.1:$http_port" >>"$WORK/driad.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 20))
  # (dig +short prints "connection refused" errors on stdout too: wait for an address.)
  until dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" 1.0.0.10.amt.in-addr.arpa A 2>/dev/null |
    grep -qE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/driad.log" >&2; die "driad did not answer 1.0.0.10.amt.in-addr.arpa A within 20 s"; }
    sleep 0.2
  done
}

try_start_knot() {
  DNS_PORT=$(free_port)
  local kdir=$WORK/knot
  rm -rf "$kdir" && mkdir -p "$kdir"
  cat >"$kdir/knot.conf" <<EOF
server:
    rundir: "$kdir"
    listen: 127.0.0.1@$DNS_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$kdir"
control:
    listen: "$kdir/knot.sock"
template:
  - id: default
    storage: "$WORK"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: amt.in-addr.arpa
    file: amt.in-addr.arpa.zone
EOF
  taskset -c "$SERVER_CPU" knotd -c "$kdir/knot.conf" >>"$WORK/knotd.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 60))
  until dig +noall +answer +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" amt.in-addr.arpa SOA 2>/dev/null | grep -q SOA; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/knotd.log" >&2; die "knotd did not serve amt.in-addr.arpa within 60 s"; }
    sleep 0.2
  done
}

# taskset at exec is not enough: knotd pins its UDP worker thread itself (to CPU 0, where dnsperf
# runs). Re-pin every thread of the server once it serves, and check.
pin_server() {
  taskset -apc "$SERVER_CPU" "$SERVER_PID" >/dev/null
  local t mask want
  want=$(printf '%x' $((1 << SERVER_CPU)))
  for t in /proc/"$SERVER_PID"/task/*; do
    mask=$(taskset -p "${t##*/}" 2>/dev/null | awk '{print $NF}') || continue
    [ -z "$mask" ] || [ "$mask" = "$want" ] || die "thread ${t##*/} of the server is not on CPU $SERVER_CPU (mask $mask)"
  done
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# --- same answers from both before measuring --------------------------------------------------------
# Per sample: the answer sections for A and AMTRELAY, sorted (RRset order carries no meaning), and
# for NXDOMAIN names the rcode; the authority section is recorded and only warned about.
snapshot() {
  local out=$1 kind name
  : >"$out"
  while read -r kind name; do
    if [ "$kind" = hit ]; then
      for t in A TYPE260; do
        dig +noall +answer +norec @127.0.0.1 -p "$DNS_PORT" "$name" "$t" | tr -s ' \t' ' ' | sort >>"$out"
      done
    else
      for t in A TYPE260; do
        dig +noall +comments +answer +norec @127.0.0.1 -p "$DNS_PORT" "$name" "$t" |
          sed -n "s/.*status: \([A-Z]*\),.*/$name $t rcode \1/p; /^[^;]/p" >>"$out"
      done
    fi
  done <"$WORK/samples.txt"
  : >"$out.authority"
  while read -r kind name; do
    [ "$kind" = nx ] && dig +noall +authority +norec @127.0.0.1 -p "$DNS_PORT" "$name" A | tr -s ' \t' ' ' >>"$out.authority"
  done <"$WORK/samples.txt"
}

log "checking that driad and knot answer alike"
start_knot && snapshot "$WORK/check.knot" && stop_server
start_driad && snapshot "$WORK/check.driad" && stop_server
if ! diff -u "$WORK/check.knot" "$WORK/check.driad" >"$WORK/check.diff"; then
  cat "$WORK/check.diff" >&2
  die "driad and knot answer differently (diff above: - knot, + driad)"
fi
grep -q AMTRELAY "$WORK/check.knot" && grep -q 'rcode NXDOMAIN' "$WORK/check.knot" ||
  die "sample answers look wrong (no AMTRELAY or no NXDOMAIN): $(cat "$WORK/check.knot")"
if ! diff -q "$WORK/check.knot.authority" "$WORK/check.driad.authority" >/dev/null; then
  log "WARNING: NXDOMAIN authority sections differ (- knot, + driad):"
  diff -u "$WORK/check.knot.authority" "$WORK/check.driad.authority" >&2 || true
fi
log "answers match: $(grep -c . "$WORK/check.knot") answer/rcode lines for $(grep -c . "$WORK/samples.txt") names"

# --- measurement ----------------------------------------------------------------------------------
# Ticks of one CPU from /proc/stat: "busy total" (busy includes irq and softirq: loopback delivery).
cpu_ticks() { awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# CPU ticks of every process except the given pids, children's included: other sessions' builds and tests.
other_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v ex="$*" '
    BEGIN {n = split(ex, e, " "); for (i = 1; i <= n; i++) skip[e[i]] = 1}
    {pid = $1; sub(/^.*\) /, ""); if (!(pid in skip)) s += $12 + $13 + $14 + $15}
    END {print s + 0}'
}

# dnsperf settings shared by every run. -t 2: a query unanswered after 2 s counts as lost.
DNSPERF_ARGS=(-s 127.0.0.1 -d "$WORK/queries.txt" -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2)

# One server, one round: start, warm up, throughput run, latency run, stop.
# Appends "server qps p99_ms lost_pct server_core_busy_pct dnsperf_core_busy_pct other_pct" to $WORK/results.
measure() {
  local server=$1 round=$2 base=$WORK/$1.r$2
  "start_$server"
  pin_server
  if [ "$WARMUP" -gt 0 ]; then
    taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$WARMUP" >"$base.warmup" 2>&1
  fi

  # Throughput: closed loop, OUTSTANDING queries in flight, as fast as the server answers. CPU use is
  # sampled inside the run (from 1 s in to 1 s before the end), away from dnsperf's start and tail.
  taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$DURATION" >"$base.qps" 2>&1 &
  DNSPERF_PID=$!
  local dnsperf_pid=$DNSPERF_PID s0 c0 o0 s1 c1 o1
  sleep 1
  s0=$(cpu_ticks "$SERVER_CPU") c0=$(cpu_ticks "$CLIENT_CPU") o0=$(other_ticks "$SERVER_PID" "$dnsperf_pid" $$)
  sleep $((DURATION > 3 ? DURATION - 2 : 1))
  s1=$(cpu_ticks "$SERVER_CPU") c1=$(cpu_ticks "$CLIENT_CPU") o1=$(other_ticks "$SERVER_PID" "$dnsperf_pid" $$)
  wait "$dnsperf_pid" || die "dnsperf failed against $server: $(tail -5 "$base.qps")"
  DNSPERF_PID=

  # Latency: dnsperf 2.10 has no latency histogram, so p99 comes from -v, which prints one line per
  # response ("> NOERROR name type 0.000123", latency in seconds; "> T ..." for a timeout). -v slows
  # dnsperf by ~20%, so it gets a separate run at a fixed offered load (LAT_QPS, well below either
  # server's capacity) instead of the throughput run: p99 of answered queries, nearest-rank.
  taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$LAT_DURATION" -Q "$LAT_QPS" -v >"$base.lat" 2>&1 ||
    die "dnsperf (latency) failed against $server"
  stop_server

  local qps lost rcodes p99
  qps=$(awk '/Queries per second:/ {print $4}' "$base.qps")
  lost=$(sed -n 's/.*Queries lost: *[0-9]* (\([0-9.]*\)%).*/\1/p' "$base.qps")
  rcodes=$(sed -n 's/.*Response codes: *//p' "$base.qps")
  [ -n "$qps" ] && [ -n "$lost" ] || die "could not parse dnsperf output: $base.qps"
  # The workload is 90% names with data, 10% NXDOMAIN names: anything else means wrong answers.
  echo "$rcodes" | awk -v who="$server" '{
      n = 0; ok = 1
      for (i = 1; i <= NF; i += 3) { code = $i; pct = $(i + 2); gsub(/[(),%]/, "", pct); pct += 0; n++
        if (code == "NOERROR" && (pct < 89.5 || pct > 90.5)) ok = 0
        else if (code == "NXDOMAIN" && (pct < 9.5 || pct > 10.5)) ok = 0
        else if (code != "NOERROR" && code != "NXDOMAIN") ok = 0 }
      if (!ok || n != 2) { print "dns-qps: ERROR: " who " response codes are off: " $0 > "/dev/stderr"; exit 1 } }' ||
    exit 1
  p99=$(awk '$1 == ">" && $2 != "T" && $2 != "I" {print $NF}' "$base.lat" | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit}; r = int(NR * 0.99); if (r < NR * 0.99) r++; printf "%.3f", v[r] * 1000}')
  # busy% of the server's core and of dnsperf's core; other processes in % of one core.
  local server_core client_core other
  server_core=$(echo "$s0 $s1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')
  client_core=$(echo "$c0 $c1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')
  other=$(echo "$o0 $o1 $s0 $s1" | awk '{o = 100 * ($2 - $1) / ($6 - $4); printf "%.0f", o < 0 ? 0 : o}')
  log "round $round $server: qps $qps, p99 ${p99} ms @ $LAT_QPS qps, lost $lost%," \
    "busy: server core $server_core%, dnsperf core $client_core%, other processes $other% [$rcodes]"
  echo "$server $qps $p99 $lost $server_core $client_core $other" >>"$WORK/results"
}

: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  # Alternate the order (driad first in odd rounds) so slow drift on a noisy machine hits both alike.
  if [ $((round % 2)) = 1 ]; then order="driad knot"; else order="knot driad"; fi
  for server in $order; do measure "$server" "$round"; done
done

# --- report ---------------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v s="$1" -v c="$2" '$1 == s {print $c}' "$WORK/results" | median; }

echo
echo "dns-qps: $SOURCES sources, $(wc -l <"$WORK/queries.txt") queries (90% hits: A + AMTRELAY; 10% NXDOMAIN)"
echo "dnsperf -c $CLIENTS -T 1 -q $OUTSTANDING -l $DURATION over UDP, $ROUNDS round(s), medians;" \
  "p99 from a separate ${LAT_DURATION}s run at $LAT_QPS qps; server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU"
printf '%-6s %10s %8s %7s %12s %13s %9s\n' server "qps" "p99 ms" "lost %" "server core%" "dnsperf core%" "other %"
for s in driad knot; do
  printf '%-6s %10.0f %8.3f %7.2f %12.0f %13.0f %9.0f\n' "$s" "$(col "$s" 2)" "$(col "$s" 3)" "$(col "$s" 4)" \
    "$(col "$s" 5)" "$(col "$s" 6)" "$(col "$s" 7)"
done
if awk '$7 > 10 {busy = 1} END {exit !busy}' "$WORK/results"; then
  echo "note: other processes used over 10% of a core during some runs (other %): figures are noisy"
fi
if grep -q '"udpBatch":true' "$WORK/driad.log"; then
  echo "driad UDP path: batched (native recvmmsg/sendmmsg)"
else
  echo "driad UDP path: node:dgram (native batching not built or disabled)"
fi
for s in driad knot; do
  if awk -v s="$s" '$1 == s && $6 >= 95 && $5 < 97 {n++} END {exit !n}' "$WORK/results"; then
    echo "note: dnsperf's core was busier than $s's in some runs: $s's qps may be limited by dnsperf there"
  fi
done
echo "driad/knot qps ratio: $(awk -v a="$(col driad 2)" -v b="$(col knot 2)" 'BEGIN {printf "%.2f", a / b}')"
