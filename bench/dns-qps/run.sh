#!/usr/bin/env bash
# bench/dns-qps: driad vs Knot DNS, gdnsd and NSD on the same DRIAD workload, measured with dnsperf
# over UDP. See bench/dns-qps/README.md. Knobs (env): SERVERS DURATION ROUNDS SOURCES SEED CLIENTS
# OUTSTANDING WARMUP FIXED_QPS FIXED_DURATION WAIT_RETRY RETRIES NICE KEEP.
# Loopback only; ports are picked free at run time; every process started here is stopped on exit.
set -euo pipefail

SERVERS=${SERVERS:-driad knot gdnsd nsd} # driad and any of the peers knot, gdnsd, nsd
DURATION=${DURATION:-15}        # seconds of each throughput run
ROUNDS=${ROUNDS:-3}             # rounds; each round measures every server, order alternating
SOURCES=${SOURCES:-100000}      # distinct multicast sources in the workload
SEED=${SEED:-8777}              # workload seed: same seed, same query file
CLIENTS=${CLIENTS:-4}           # dnsperf -c
OUTSTANDING=${OUTSTANDING:-200} # dnsperf -q: at 500 the single-threaded servers' UDP receive buffers overflow
WARMUP=${WARMUP:-3}             # seconds of unmeasured load after each start (JIT, caches)
FIXED_QPS=${FIXED_QPS:-50000}   # offered load of the fixed-rate run (CPU per query, p99), below every server's capacity
FIXED_DURATION=${FIXED_DURATION:-8} # seconds of the fixed-rate run
WAIT_RETRY=${WAIT_RETRY:-5}     # a measurement during which the server waited for its core more than this % of the time
RETRIES=${RETRIES:-2}           # is repeated, at most this many times per run in all (each costs about 30 s)
KEEP=${KEEP:-0}                 # 1: keep the work dir (queries, zone, logs, dnsperf outputs)

# CPU pinning on the 2-core machine: the server (all its processes and threads) on one core, dnsperf on the other.
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
# Scheduling priority of the servers and dnsperf: ahead of other sessions' builds and tests on the
# same cores (which still run, at a tenth of the share), so that they disturb the figures less.
NICE=${NICE:-$([ "$(id -u)" = 0 ] && echo -10 || echo 0)}
PRIO=(nice -n "$NICE")

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/dns-qps

BENCH_NAME=dns-qps
BENCH_DEBS="knot gdnsd nsd dnsperf bind9-dnsutils"
SERVER_PID=
SERVER_TREE=
PROBE_PID=
DNSPERF_PID=
bench_pids() { echo "$DNSPERF_PID $SERVER_PID $SERVER_TREE $PROBE_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "Debian: knot gdnsd nsd dnsperf bind9-dnsutils" node dnsperf dig knotd gdnsd nsd taskset ss

case " $SERVERS " in *" driad "*) ;; *) die "SERVERS must include driad (got '$SERVERS')" ;; esac
for s in $SERVERS; do case $s in driad | knot | gdnsd | nsd) ;; *) die "unknown server '$s' in SERVERS" ;; esac; done
PEERS=$(for s in $SERVERS; do [ "$s" = driad ] || echo "$s"; done | xargs)
[ -n "$PEERS" ] || die "SERVERS names no peer to compare driad with"
HZ=$(getconf CLK_TCK)

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
# Each try_start_NAME picks DNS_PORT, starts the server on SERVER_CPU with its output in $WORK/NAME.log,
# waits until it answers, and returns 1 if it exited during startup (start_with_retries then looks
# for a port clash in the log and tries again with fresh ports), or dies on a timeout.
DNS_PORT=
DRIAD_HTTP_PORT=

start_server() { start_with_retries "$1" "$WORK/$1.log"; }

# wait_ready NAME SECONDS DIG-ARGS... GREP-PATTERN: polls with dig until the answer matches.
wait_ready() {
  local name=$1 limit=$2 pattern=${*: -1} deadline
  local args=("${@:3:$#-3}")
  deadline=$((SECONDS + limit))
  # (dig +short prints "connection refused" errors on stdout too: wait for a real answer.)
  until dig +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" "${args[@]}" 2>/dev/null | grep -qE "$pattern"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/$name.log" >&2; die "$name did not answer '${args[*]}' within $limit s"; }
    sleep 0.2
  done
}

try_start_driad() {
  DNS_PORT=$(free_port)
  DRIAD_HTTP_PORT=$(free_port)
  [ "$DRIAD_HTTP_PORT" != "$DNS_PORT" ] || DRIAD_HTTP_PORT=$(free_port)
  taskset -c "$SERVER_CPU" "${PRIO[@]}" node "$ROOT/src/main.ts" --dns-listen "127.0.0.1:$DNS_PORT" \
    --http-listen "127.0.0.1:$DRIAD_HTTP_PORT" --doh-listen 127.0.0.1:0 >>"$WORK/driad.log" 2>&1 &
  SERVER_PID=$!
  wait_ready driad 20 +short 1.0.0.10.amt.in-addr.arpa A '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
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
  taskset -c "$SERVER_CPU" "${PRIO[@]}" knotd -c "$kdir/knot.conf" >>"$WORK/knot.log" 2>&1 &
  SERVER_PID=$!
  wait_ready knot 60 +noall +answer amt.in-addr.arpa SOA SOA
}

# gdnsd 3: one UDP and one TCP thread; its own run and state dirs; the zone file is the same one
# Knot loads (gdnsd reads RFC 3597 generic RRs). It sends no DNS cookie to queries without EDNS,
# which is all dnsperf sends here.
try_start_gdnsd() {
  DNS_PORT=$(free_port)
  local gdir=$WORK/gdnsd
  rm -rf "$gdir" && mkdir -p "$gdir/zones"
  ln -s "$WORK/amt.in-addr.arpa.zone" "$gdir/zones/amt.in-addr.arpa"
  cat >"$gdir/config" <<EOF
options => {
  listen => [ 127.0.0.1 ]
  dns_port => $DNS_PORT
  udp_threads => 1
  tcp_threads => 1
  run_dir => $gdir/run
  state_dir => $gdir/state
}
EOF
  taskset -c "$SERVER_CPU" "${PRIO[@]}" gdnsd -c "$gdir" start >>"$WORK/gdnsd.log" 2>&1 &
  SERVER_PID=$!
  wait_ready gdnsd 60 +noall +answer amt.in-addr.arpa SOA SOA
}

# NSD 4: one server process (server-count 1, besides its main and xfrd processes), no database, no
# privilege drop. Its default response rate limiting (200 qps per /24) would drop most of the load
# from 127.0.0.1, so it is off; minimal-responses keeps NS records out of positive answers, as the
# other servers do, so that all four send the same bytes (checked below).
try_start_nsd() {
  DNS_PORT=$(free_port)
  local ndir=$WORK/nsd
  rm -rf "$ndir" && mkdir -p "$ndir"
  cat >"$ndir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$DNS_PORT
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$WORK"
    database: ""
    zonelistfile: "$ndir/zone.list"
    xfrdfile: "$ndir/xfrd.state"
    xfrdir: "$ndir"
    pidfile: "$ndir/nsd.pid"
    zonefiles-write: 0
    minimal-responses: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: amt.in-addr.arpa
    zonefile: amt.in-addr.arpa.zone
EOF
  taskset -c "$SERVER_CPU" "${PRIO[@]}" nsd -d -c "$ndir/nsd.conf" >>"$WORK/nsd.log" 2>&1 &
  SERVER_PID=$!
  wait_ready nsd 60 +noall +answer amt.in-addr.arpa SOA SOA
}

# The server's processes: SERVER_PID and its descendants (NSD forks a server and an xfrd process).
server_tree() {
  local pids=$SERVER_PID frontier=$SERVER_PID p next
  while [ -n "$frontier" ]; do
    next=
    for p in $frontier; do next="$next $(pgrep -P "$p" | xargs)"; done
    frontier=$(echo "$next" | xargs)
    [ -z "$frontier" ] || pids="$pids $frontier"
  done
  echo "$pids"
}

# taskset at exec is not enough: knotd pins its UDP worker thread itself (to CPU 0, where dnsperf
# runs). Re-pin every thread of every process of the server once it serves, and check.
pin_server() {
  SERVER_TREE=$(server_tree)
  local p t mask want
  want=$(printf '%x' $((1 << SERVER_CPU)))
  for p in $SERVER_TREE; do
    taskset -apc "$SERVER_CPU" "$p" >/dev/null
    for t in /proc/"$p"/task/*; do
      mask=$(taskset -p "${t##*/}" 2>/dev/null | awk '{print $NF}') || continue
      [ -z "$mask" ] || [ "$mask" = "$want" ] || die "thread ${t##*/} of the server is not on CPU $SERVER_CPU (mask $mask)"
    done
  done
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  # Children (NSD's) must be gone too before the next server starts on the same core.
  local p alive
  for _ in $(seq 50); do
    alive=
    for p in $SERVER_TREE; do ! kill -0 "$p" 2>/dev/null || alive=1; done
    [ -n "$alive" ] || break
    sleep 0.1
  done
  for p in $SERVER_TREE; do kill -9 "$p" 2>/dev/null || true; done
  SERVER_PID=
  SERVER_TREE=
}

# --- same answers from every server before measuring -----------------------------------------------
# snapshot: per sample name, the answer sections for A and AMTRELAY, sorted (RRset order carries no
# meaning), and for NXDOMAIN names the rcode; the authority section is recorded and only warned about.
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

# wire_check: the queries of wire-sample.txt as dnsperf sends them (no EDNS, RD=0), one line each:
# "qname qtype rcode flags ANSWER AUTHORITY ADDITIONAL bytes". Equal lines mean equal work on the wire.
wire_check() {
  dig +noedns +norec +time=2 +tries=2 @127.0.0.1 -p "$DNS_PORT" -f "$WORK/wire-sample.txt" 2>&1 | awk '
    /->>HEADER<<-/ {rcode = $6; sub(/,$/, "", rcode)}
    /^;; flags:/ {flags = $0; sub(/^;; flags: /, "", flags); sub(/;.*/, "", flags); gsub(/ /, "+", flags)
      an = $0; sub(/.*ANSWER: /, "", an); sub(/,.*/, "", an)
      ns = $0; sub(/.*AUTHORITY: /, "", ns); sub(/,.*/, "", ns)
      ar = $0; sub(/.*ADDITIONAL: /, "", ar)}
    /^;; QUESTION SECTION:/ {getline; q = $1 " " $3; sub(/^;/, "", q)}
    /^;; MSG SIZE/ {print q, rcode, flags, an, ns, ar, $NF}' >"$1"
}

{ sed 's/^[a-z]* \(.*\)$/\1 A\n\1 TYPE260/' "$WORK/samples.txt"; head -200 "$WORK/queries.txt"; } >"$WORK/wire-sample.txt"
log "checking that every server answers as driad does"
for s in $SERVERS; do
  start_server "$s"
  SERVER_TREE=$(server_tree)
  snapshot "$WORK/check.$s"
  wire_check "$WORK/wire.$s"
  stop_server
done
grep -q AMTRELAY "$WORK/check.driad" && grep -q 'rcode NXDOMAIN' "$WORK/check.driad" ||
  die "sample answers look wrong (no AMTRELAY or no NXDOMAIN): $(cat "$WORK/check.driad")"
[ "$(grep -c . "$WORK/wire.driad")" = "$(grep -c . "$WORK/wire-sample.txt")" ] ||
  die "driad answered $(grep -c . "$WORK/wire.driad") of the $(grep -c . "$WORK/wire-sample.txt") sample queries"
SIZE_NOTES=
for s in $PEERS; do
  if ! diff -u "$WORK/check.$s" "$WORK/check.driad" >"$WORK/check.$s.diff"; then
    cat "$WORK/check.$s.diff" >&2
    die "driad and $s answer differently (diff above: - $s, + driad)"
  fi
  # rcode, flags and section counts must be identical; response sizes may differ, and are reported.
  paste -d' ' "$WORK/wire.$s" "$WORK/wire.driad" | awk '{
      peer = $1 FS $2 FS $3 FS $4 FS $5 FS $6 FS $7; own = $9 FS $10 FS $11 FS $12 FS $13 FS $14 FS $15
      if (peer != own) { print "- " peer "\n+ " own; bad = 1 }
      if ($8 != $16) { d[$3 " " ($16 > $8 ? "+" : "") ($16 - $8)]++ } }
    END { for (k in d) print "bytes", k, d[k]; exit bad }' >"$WORK/wire.$s.diff" || {
    grep -v '^bytes ' "$WORK/wire.$s.diff" | head -20 >&2
    die "driad and $s differ in rcode, flags or section counts (above: - $s, + driad)"
  }
  d=$(awk '$1 == "bytes" {printf "%s%s %s bytes on %s", sep, $2, $3, $4; sep = ", "}' "$WORK/wire.$s.diff")
  [ -z "$d" ] || SIZE_NOTES="${SIZE_NOTES:+$SIZE_NOTES; }$s: $d"
  if ! diff -q "$WORK/check.$s.authority" "$WORK/check.driad.authority" >/dev/null; then
    log "WARNING: NXDOMAIN authority sections differ (- $s, + driad):"
    diff -u "$WORK/check.$s.authority" "$WORK/check.driad.authority" >&2 || true
  fi
done
# SIZE_NOTES, e.g. "knot: NXDOMAIN +13 bytes on 34": driad's NXDOMAIN responses were 13 bytes longer than knot's on 34 queries.
ANSWERS_CHECKED="answers: $(echo "$PEERS" | sed 's/ /, /g') match driad on $(grep -c . "$WORK/wire.driad") sample queries (rcode, flags, section counts; answer sections of $(grep -c . "$WORK/samples.txt") names); response bytes $([ -z "$SIZE_NOTES" ] && echo "identical" || echo "identical except (driad minus peer) $SIZE_NOTES")"
log "$ANSWERS_CHECKED"

# --- measurement ----------------------------------------------------------------------------------
# Ticks of one CPU from /proc/stat: "busy total" (busy includes irq and softirq: loopback delivery).
cpu_ticks() { awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# CPU ticks of every process except the given pids, children's included: other sessions' builds and tests.
other_ticks() {
  # (A process can end between the glob and the read: cat then fails, which must not stop the run.)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ex="$*" '
    BEGIN {n = split(ex, e, " "); for (i = 1; i <= n; i++) skip[e[i]] = 1}
    {pid = $1; sub(/^.*\) /, ""); if (!(pid in skip)) s += $12 + $13 + $14 + $15}
    END {print s + 0}'
}
# utime + stime of the server's processes (all their threads), in ticks, from /proc/PID/stat.
server_ticks() {
  local p
  for p in $SERVER_TREE; do cat "/proc/$p/stat" 2>/dev/null || true; done | awk '{sub(/^.*\) /, ""); s += $12 + $13} END {print s + 0}'
}
# Per thread of the server: "tid run_ns wait_ns" (schedstat: time on a CPU, time runnable but
# waiting for one), then the clock as "now NS". waited_pct compares two of these: how long the
# thread that worked most (the one answering) waited for its core, in % of the elapsed time.
server_sched() {
  local p t
  for p in $SERVER_TREE; do
    for t in /proc/"$p"/task/*; do
      [ -r "$t/schedstat" ] && echo "${t##*/} $(cat "$t/schedstat" 2>/dev/null)"
    done
  done
  echo "now $(date +%s%N)"
}
waited_pct() {
  awk 'FNR == 1 {f++} $1 == "now" {now[f] = $2; next} {run[f, $1] = $2; wait[f, $1] = $3; tids[$1] = 1}
    END {best = -1; for (t in tids) if ((2, t) in run && (1, t) in run && run[2, t] - run[1, t] > best) {
        best = run[2, t] - run[1, t]; w = wait[2, t] - wait[1, t] }
      printf "%.1f", (best >= 0 && now[2] > now[1] ? 100 * w / (now[2] - now[1]) : 0)}' "$1" "$2"
}
# CPU microseconds per answered query: ticks over the run / answered queries.
cpu_per_query() { awk -v t="$(($2 - $1))" -v n="$3" -v hz="$HZ" 'BEGIN {printf "%.3f", (n > 0 ? t * 1e6 / hz / n : 0)}'; }
# driad's received datagrams and recvmmsg calls so far, from its /metrics.
driad_batches() {
  node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), () => {})' \
    "http://127.0.0.1:$DRIAD_HTTP_PORT/metrics" 2>/dev/null |
    awk '$1 == "driad_dns_udp_batches_total" {b = $2} $1 == "driad_dns_udp_batch_datagrams_total" {d = $2} END {print d + 0, b + 0}'
}
batch_size() { echo "$1 $2" | awk '{printf "%.1f", ($4 > $2 ? ($3 - $1) / ($4 - $2) : 0)}'; }

# dnsperf settings shared by every run. -t 2: a query unanswered after 2 s counts as lost.
DNSPERF_ARGS=(-s 127.0.0.1 -d "$WORK/queries.txt" -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2)

# One server, one round: start, warm up, throughput run, fixed-rate run, stop. Appends
# "server qps cpu_us_sat cpu_us_fixed p99_ms lost_pct server_core% dnsperf_core% other% batch_sat batch_fixed waited%"
# to $WORK/results (batch: datagrams per recvmmsg, driad only, "-" for the others).
measure() {
  local server=$1 round=$2 base=$WORK/$1.r$2
  start_server "$server"
  pin_server
  if [ "$WARMUP" -gt 0 ]; then
    taskset -c "$CLIENT_CPU" "${PRIO[@]}" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$WARMUP" >"$base.warmup" 2>&1 ||
      die "dnsperf (warm-up) failed against $server: $(tail -5 "$base.warmup")"
  fi

  # Throughput: closed loop, OUTSTANDING queries in flight, as fast as the server answers. The
  # server's own CPU time covers the whole run; core busy % is sampled inside it (from 1 s in to 1 s
  # before the end), away from dnsperf's start and tail.
  local t0 t1 f0 f1 b0=- b1=- b2=-
  [ "$server" != driad ] || b0=$(driad_batches)
  t0=$(server_ticks)
  server_sched >"$base.sched0"
  taskset -c "$CLIENT_CPU" "${PRIO[@]}" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$DURATION" >"$base.qps" 2>&1 &
  DNSPERF_PID=$!
  local dnsperf_pid=$DNSPERF_PID s0 c0 o0 s1 c1 o1
  sleep 1
  # shellcheck disable=SC2086 # a list of pids
  s0=$(cpu_ticks "$SERVER_CPU") c0=$(cpu_ticks "$CLIENT_CPU") o0=$(other_ticks $SERVER_TREE "$dnsperf_pid" $$)
  sleep $((DURATION > 3 ? DURATION - 2 : 1))
  # shellcheck disable=SC2086
  s1=$(cpu_ticks "$SERVER_CPU") c1=$(cpu_ticks "$CLIENT_CPU") o1=$(other_ticks $SERVER_TREE "$dnsperf_pid" $$)
  wait "$dnsperf_pid" || die "dnsperf failed against $server: $(tail -5 "$base.qps")"
  DNSPERF_PID=
  t1=$(server_ticks)
  server_sched >"$base.sched1"
  [ "$server" != driad ] || b1=$(driad_batches)

  # Fixed rate: the same queries offered at FIXED_QPS, below every server's capacity, so that the
  # servers' CPU per query compares at equal load whoever saturates first. p99 comes from -v, which
  # prints one line per response ("> NOERROR name type 0.000123", latency in seconds; "> T ..." for
  # a timeout): dnsperf 2.10 has no latency histogram. -v slows dnsperf, which matters only for the
  # throughput run: here dnsperf has room to spare.
  local w0 w1 o2 o3
  # shellcheck disable=SC2086
  f0=$(server_ticks) w0=$(cpu_ticks "$SERVER_CPU") o2=$(other_ticks $SERVER_TREE $$)
  server_sched >"$base.sched2"
  taskset -c "$CLIENT_CPU" "${PRIO[@]}" dnsperf "${DNSPERF_ARGS[@]}" -p "$DNS_PORT" -l "$FIXED_DURATION" -Q "$FIXED_QPS" -v >"$base.fixed" 2>&1 &
  DNSPERF_PID=$!
  wait "$DNSPERF_PID" || die "dnsperf (fixed rate) failed against $server: $(tail -5 "$base.fixed")"
  # shellcheck disable=SC2086
  f1=$(server_ticks) w1=$(cpu_ticks "$SERVER_CPU") o3=$(other_ticks $SERVER_TREE "$DNSPERF_PID" $$)
  server_sched >"$base.sched3"
  DNSPERF_PID=
  [ "$server" != driad ] || b2=$(driad_batches)
  stop_server

  local qps done lost rcodes p99 fixed_done fixed_qps
  qps=$(awk '/Queries per second:/ {print $4}' "$base.qps")
  done=$(awk '/Queries completed:/ {print $3}' "$base.qps")
  lost=$(sed -n 's/.*Queries lost: *[0-9]* (\([0-9.]*\)%).*/\1/p' "$base.qps")
  rcodes=$(sed -n 's/.*Response codes: *//p' "$base.qps")
  fixed_done=$(awk '/Queries completed:/ {print $3}' "$base.fixed")
  fixed_qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$base.fixed")
  [ -n "$qps" ] && [ -n "$lost" ] && [ -n "$done" ] && [ -n "$fixed_done" ] || die "could not parse dnsperf output: $base.qps, $base.fixed"
  # The workload is 90% names with data, 10% NXDOMAIN names: anything else means wrong answers.
  echo "$rcodes" | awk -v who="$server" '{
      n = 0; ok = 1
      for (i = 1; i <= NF; i += 3) { code = $i; pct = $(i + 2); gsub(/[(),%]/, "", pct); pct += 0; n++
        if (code == "NOERROR" && (pct < 89.5 || pct > 90.5)) ok = 0
        else if (code == "NXDOMAIN" && (pct < 9.5 || pct > 10.5)) ok = 0
        else if (code != "NOERROR" && code != "NXDOMAIN") ok = 0 }
      if (!ok || n != 2) { print "dns-qps: ERROR: " who " response codes are off: " $0 > "/dev/stderr"; exit 1 } }' ||
    exit 1
  p99=$(awk '$1 == ">" && $2 != "T" && $2 != "I" {print $NF}' "$base.fixed" | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit}; r = int(NR * 0.99); if (r < NR * 0.99) r++; printf "%.3f", v[r] * 1000}')
  # busy% of the server's core and of dnsperf's core; other processes in % of one core.
  local server_core client_core other cpu_sat cpu_fixed batch_sat=- batch_fixed=-
  server_core=$(echo "$s0 $s1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')
  client_core=$(echo "$c0 $c1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')
  # Other processes: the busier of the two runs.
  other=$(echo "$o0 $o1 $s0 $s1 $o2 $o3 $w0 $w1" | awk '{a = 100 * ($2 - $1) / ($6 - $4); b = 100 * ($8 - $7) / ($12 - $10)
    o = a > b ? a : b; printf "%.0f", (o < 0 ? 0 : o)}')
  # The server's wait for its core: the worse of the two runs.
  local waited
  waited=$(echo "$(waited_pct "$base.sched0" "$base.sched1") $(waited_pct "$base.sched2" "$base.sched3")" | awk '{print ($1 > $2 ? $1 : $2)}')
  cpu_sat=$(cpu_per_query "$t0" "$t1" "$done")
  cpu_fixed=$(cpu_per_query "$f0" "$f1" "$fixed_done")
  if [ "$server" = driad ]; then batch_sat=$(batch_size "$b0" "$b1") batch_fixed=$(batch_size "$b1" "$b2"); fi
  if [ "$fixed_qps" -lt $((FIXED_QPS * 98 / 100)) ]; then
    log "WARNING: the fixed-rate run against $server reached $fixed_qps qps, not $FIXED_QPS"
  fi
  if awk -v w="$waited" -v m="$WAIT_RETRY" 'BEGIN {exit !(w > m)}' && [ "$RETRIES" -gt 0 ]; then
    RETRIES=$((RETRIES - 1)) REPEATED=$((REPEATED + 1))
    log "round $round $server: the server waited for its core $waited% of the time, other processes used $other% of a core" \
      "(qps $qps, cpu ${cpu_sat} us/query): measuring again ($RETRIES retries left)"
    measure "$server" "$round"
    return
  fi
  log "round $round $server: qps $qps, cpu ${cpu_sat} us/query; at $FIXED_QPS qps: cpu ${cpu_fixed} us/query," \
    "p99 ${p99} ms; lost $lost%, busy: server core $server_core%, dnsperf core $client_core%, other processes $other%, server waited $waited%" \
    "[$rcodes]$([ "$server" != driad ] || echo " datagrams per recvmmsg: $batch_sat, $batch_fixed at $FIXED_QPS qps")"
  echo "$server $qps $cpu_sat $cpu_fixed $p99 $lost $server_core $client_core $other $batch_sat $batch_fixed $waited" >>"$WORK/results"
}

: >"$WORK/results"
REPEATED=0
for round in $(seq "$ROUNDS"); do
  # Alternate the order (reversed in even rounds) so slow drift on a noisy machine hits all alike.
  if [ $((round % 2)) = 1 ]; then order=$SERVERS; else order=$(echo "$SERVERS" | tr ' ' '\n' | tac | xargs); fi
  for server in $order; do measure "$server" "$round"; done
done

# --- report ---------------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v s="$1" -v c="$2" '$1 == s {print $c}' "$WORK/results" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# best_peer COLUMN: the peer with the lowest median in that column.
best_peer() { for s in $PEERS; do echo "$s $(col "$s" "$1")"; done | sort -g -k2 | head -1 | cut -d' ' -f1; }

echo
echo "dns-qps: $SOURCES sources, $(wc -l <"$WORK/queries.txt") queries (90% hits: A + AMTRELAY; 10% NXDOMAIN)"
echo "dnsperf -c $CLIENTS -T 1 -q $OUTSTANDING -l $DURATION over UDP, $ROUNDS round(s), medians; cpu = server" \
  "utime+stime (/proc/PID/stat) per answered query; fixed rate: ${FIXED_DURATION}s at $FIXED_QPS qps;" \
  "server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU"
fq="@${FIXED_QPS}"
printf '%-6s %8s %9s %13s %13s %7s %12s %13s %8s %9s\n' server qps "cpu us/q" "cpu us/q$fq" "p99 ms$fq" "lost %" "server core%" "dnsperf core%" "other %" "waited %"
for s in $SERVERS; do
  printf '%-6s %8.0f %9.2f %13.2f %13.3f %7.2f %12.0f %13.0f %8.0f %9.1f\n' "$s" "$(col "$s" 2)" "$(col "$s" 3)" "$(col "$s" 4)" \
    "$(col "$s" 5)" "$(col "$s" 6)" "$(col "$s" 7)" "$(col "$s" 8)" "$(col "$s" 9)" "$(col "$s" 12)"
done
if awk -v m="$WAIT_RETRY" '$12 > m {busy = 1} END {exit !busy}' "$WORK/results"; then
  echo "note: a server waited for its core over $WAIT_RETRY% of the time in some runs (waited %): figures are noisy"
elif awk '$9 > 10 {busy = 1} END {exit !busy}' "$WORK/results"; then
  echo "note: other processes used over 10% of a core during some runs (other %), at a lower priority than the servers"
fi
[ "$REPEATED" = 0 ] || echo "note: $REPEATED measurement(s) repeated because the server waited for its core over $WAIT_RETRY% of the time"
if grep -q '"udpBatch":true' "$WORK/driad.log"; then
  echo "driad UDP path: batched (native recvmmsg/sendmmsg), datagrams per recvmmsg: $(col driad 10) at saturation, $(col driad 11) at $FIXED_QPS qps"
else
  echo "driad UDP path: node:dgram (native batching not built or disabled)"
fi
for s in $SERVERS; do
  if awk -v s="$s" '$1 == s && $8 >= 95 && $7 < 97 {n++} END {exit !n}' "$WORK/results"; then
    echo "note: dnsperf's core was busier than $s's in some runs: $s's qps may be limited by dnsperf there (cpu us/q holds)"
  fi
done
echo "$ANSWERS_CHECKED"
best_fixed=$(best_peer 4)
echo "driad/best-peer cpu per query at $FIXED_QPS qps: $(ratio "$(col driad 4)" "$(col "$best_fixed" 4)") (best: $best_fixed)"
if [[ " $SERVERS " == *" knot "* ]]; then
  echo "driad/knot qps ratio: $(ratio "$(col driad 2)" "$(col knot 2)")"
else
  echo "driad/knot qps ratio: n/a (knot not in SERVERS)"
fi
best=$(best_peer 3)
echo "driad/best-peer cpu per query: $(ratio "$(col driad 3)" "$(col "$best" 3)") (best: $best)"
