#!/usr/bin/env bash
# bench/ipfix: driad's IPFIX collector vs nfacctd (pmacct) on the same J-Flow stream over loopback
# UDP: the highest offered record rate each takes without losing a record. See bench/ipfix/README.md.
# Knobs (env): TUNNELS ROUNDS START_RATE FACTOR MAX_RATE STEP_SECONDS DNS_SECONDS DNS_FRACTION TIME_LIMIT KEEP.
# Loopback only; ports are picked free at run time; every process started here is stopped on exit.
set -euo pipefail

TUNNELS=${TUNNELS:-500000}          # AMT tunnels in the stream (one flow record each per export round)
ROUNDS=${ROUNDS:-3}                 # rounds; each ramps both collectors, order alternating
START_RATE=${START_RATE:-50000}     # first offered rate, flow records/s
FACTOR=${FACTOR:-1.25}              # each step offers this much more
MAX_RATE=${MAX_RATE:-4000000}       # the ramp stops here
STEP_SECONDS=${STEP_SECONDS:-2}     # seconds of load per step
DNS_SECONDS=${DNS_SECONDS:-3}       # dnsperf run, idle and under IPFIX load (round 1)
DNS_FRACTION=${DNS_FRACTION:-0.8}   # the IPFIX load during dnsperf: this fraction of driad's zero-loss rate
TIME_LIMIT=${TIME_LIMIT:-480}       # seconds: no new step starts after this long
KEEP=${KEEP:-0}                     # 1: keep the work dir (stream, configs, logs, nfacctd output)

# The collector (all its threads and processes) on one core, the generator on the other.
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/bench/ipfix

BENCH_NAME=ipfix
SERVER_PID=
SENDER_PID=
DNSPERF_PID=
bench_pids() { echo "$SENDER_PID $DNSPERF_PID $SERVER_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_install_debs pmacct dnsperf bind9-dnsutils
bench_setup "Debian: pmacct dnsperf bind9-dnsutils gcc" node nfacctd dnsperf dig cc curl taskset ss
BEGAN=$SECONDS
CLK_TCK=$(getconf CLK_TCK)

# --- the stream and the generator -------------------------------------------------------------------
cc -O2 -Wall -o "$WORK/sender" "$BENCH/sender.c" || die "could not build the sender"
log "writing the stream: $TUNNELS tunnels"
node "$BENCH/stream.ts" "$WORK/stream.bin" "$TUNNELS" >"$WORK/stream.txt" || die "stream.ts failed"
log "$(cat "$WORK/stream.txt")"
STREAM_FLOWS=$TUNNELS

# send RATE SECONDS PORT OUT: the generator on CLIENT_CPU; OUT gets "datagrams N flows F packets P seconds S errors E".
send() {
  taskset -c "$CLIENT_CPU" "$WORK/sender" 127.0.0.1 "$3" "$1" "$2" "$WORK/stream.bin" >"$4" &
  SENDER_PID=$!
  wait "$SENDER_PID" || die "sender failed: $(cat "$4")"
  SENDER_PID=
}
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$2"; }
# utime + stime of a process and its children still running, in ticks.
cpu_of() { local p t=0; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }

# --- driad ------------------------------------------------------------------------------------------
DNS_PORT=
HTTP_PORT=
IPFIX_PORT=
try_start_driad() {
  DNS_PORT=$(free_port)
  HTTP_PORT=$(free_port)
  IPFIX_PORT=$(free_port)
  # The embedded default (MX "mx" at 69.25.95.1) plus the collector on a free port, the generator's
  # address mapped to the MX. The interval is longer than the run: the per-interval flush of 500,000
  # tunnels (spool writes, bench/accounting) is not what this measures, and must not land in a step.
  cat >"$WORK/driad.yaml" <<EOF
amtRelay:
  ipfixPort: $IPFIX_PORT
ipfix:
  enabled: true
  intervalMs: 3600000
  exporters:
    - { address: 127.0.0.1, relay: mx }
EOF
  taskset -c "$SERVER_CPU" node "$ROOT/src/main.ts" --config "$WORK/driad.yaml" --dns-listen "127.0.0.1:$DNS_PORT" \
    --http-listen "127.0.0.1:$HTTP_PORT" --doh-listen 127.0.0.1:0 >>"$WORK/driad.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30))
  until dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" 1.0.0.10.amt.in-addr.arpa A 2>/dev/null | grep -qE '^[0-9.]+$' &&
    curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | grep -q '^driad_ipfix_queue'; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/driad.log" >&2; die "driad did not answer DNS and /metrics within 30 s"; }
    sleep 0.2
  done
  taskset -apc "$SERVER_CPU" "$SERVER_PID" >/dev/null
  # How it reads UDP (recvmmsg or dgram) and the receive buffer the kernel granted it.
  curl -sf "http://127.0.0.1:$HTTP_PORT/api/v1/relays" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const c = JSON.parse(s).collectors.find((x) => x.collector === "ipfix");
    process.stdout.write(c ? `read by ${c.receive}, buffer granted ${c.receiveBuffer.granted}${c.receiveBuffer.clamped ? " (clamped)" : ""}` : "?");
  })' >"$WORK/driad.receive" 2>/dev/null || true
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
# "flows decoded_messages dropped_messages queue" from driad's /metrics.
driad_counters() {
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | awk '
    /^driad_ipfix_amt_flows_total / {f = $2}
    /^driad_ipfix_messages_total\{/ && /transport="udp"/ && /result="decoded"/ {d = $2}
    /^driad_ipfix_messages_total\{/ && /transport="udp"/ && /result="dropped"/ {x = $2}
    /^driad_ipfix_queue / {q = $2}
    END {printf "%.0f %.0f %.0f %.0f\n", f, d, x, q}'
}
# After a step: wait until the queue is empty and the flow counter stands still.
driad_settled() {
  local prev=-1 now deadline=$((SECONDS + 20))
  while [ "$SECONDS" -lt "$deadline" ]; do
    now=$(driad_counters)
    [ "${now##* }" = 0 ] && [ "${now%% *}" = "$prev" ] && { echo "$now"; return; }
    prev=${now%% *}
    sleep 0.3
  done
  echo "$now"
}

# step_driad RATE BASE: sets GOT to the AMT flow records driad counted during the step.
# Adds the step's CPU ticks (from the send to the settled counters) to DRIAD_STEP_CPU.
step_driad() {
  local before after c0 c1
  before=$(driad_counters)
  c0=$(cpu_of "$SERVER_PID")
  send "$1" "$STEP_SECONDS" "$IPFIX_PORT" "$2.sent"
  after=$(driad_settled)
  c1=$(cpu_of "$SERVER_PID")
  echo "$before $after $c0 $c1" >"$2.counters"
  DRIAD_STEP_CPU=$((DRIAD_STEP_CPU + c1 - c0))
  GOT=$(echo "$after $before" | awk '{print $1 - $5}')
}

# --- nfacctd ----------------------------------------------------------------------------------------
# One fresh nfacctd per step: it aggregates per tunnel (as driad does) with the print plugin,
# renormalising by the sampling rate of the options records (nfacctd_renormalize), and writes its
# whole cache at exit (SIGINT). No record lost means: the output's packets are the packets sent x
# 1000 (the sampling rate) and it has one line per tunnel sent. The socket buffer is what driad
# asks for (8 MiB, capped by net.core.rmem_max for both); the core-to-plugin buffers are large.
try_start_nfacctd() {
  IPFIX_PORT=$(free_port)
  rm -f "$WORK/nfacctd.csv"
  cat >"$WORK/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $IPFIX_PORT
nfacctd_pipe_size: 8388608
nfacctd_renormalize: true
plugin_pipe_size: 104857600
plugin_buffer_size: 102400
plugins: print[tunnels]
aggregate[tunnels]: src_host, dst_host, src_port, dst_port, proto
print_output[tunnels]: csv
print_output_file[tunnels]: $WORK/nfacctd.csv
print_refresh_time[tunnels]: 3600
print_cache_entries[tunnels]: $((TUNNELS + TUNNELS / 5 + 11))
logfile: $WORK/nfacctd.log
EOF
  : >"$WORK/nfacctd.log"
  taskset -c "$SERVER_CPU" nfacctd -f "$WORK/nfacctd.conf" >>"$WORK/nfacctd.out" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30))
  until grep -q 'waiting for NetFlow/IPFIX data' "$WORK/nfacctd.log" && grep -q 'cache entries=' "$WORK/nfacctd.log" &&
    [ -n "$(pgrep -P "$SERVER_PID")" ]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" 2>/dev/null || true
      SERVER_PID=
      cat "$WORK/nfacctd.log" >>"$WORK/nfacctd.out"
      return 1
    fi
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/nfacctd.log" >&2; die "nfacctd did not start within 30 s"; }
    sleep 0.1
  done
  taskset -apc "$SERVER_CPU" "$SERVER_PID" >/dev/null
  local c children prev=-1 now
  children=$(pgrep -P "$SERVER_PID" | tr '\n' ' ')
  for c in $children; do taskset -apc "$SERVER_CPU" "$c" >/dev/null; done
  # The plugin logs its cache size before it has set the cache up (seconds of page faults for
  # 500,000 tunnels); a SIGINT before then exits without output. Ready when its CPU time stands still
  # for 0.6 s.
  local still=0
  for _ in $(seq 150); do
    now=$(cpu_of $children)
    if [ "$now" = "$prev" ]; then still=$((still + 1)); else still=0; fi
    [ "$still" -ge 3 ] && return 0 # 0.6 s: a plugin merely descheduled on the busy core is not "still"
    prev=$now
    sleep 0.2
  done
  die "nfacctd's plugin did not settle within 30 s"
}
# SIGINT: the print plugin writes its cache out and exits, then the core.
stop_nfacctd() {
  local children c i
  children=$(pgrep -P "$SERVER_PID" || true)
  kill -INT "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  for c in $children; do
    for i in $(seq 300); do kill -0 "$c" 2>/dev/null || break; sleep 0.1; done
  done
  SERVER_PID=
}

# step_nfacctd RATE BASE: sets GOT to the records nfacctd accounted; adds its CPU ticks to NF_CPU.
step_nfacctd() {
  start_with_retries nfacctd "$WORK/nfacctd.out"
  local children c0 c1 pk lines sent_pk
  children=$(pgrep -P "$SERVER_PID" | tr '\n' ' ')
  c0=$(cpu_of "$SERVER_PID" $children)
  send "$1" "$STEP_SECONDS" "$IPFIX_PORT" "$2.sent"
  sleep 1 # the plugin drains its pipe
  c1=$(cpu_of "$SERVER_PID" $children)
  stop_nfacctd
  cp "$WORK/nfacctd.log" "$2.log"
  pk=0 lines=0
  [ -f "$WORK/nfacctd.csv" ] && read -r pk lines < <(awk -F, 'NR > 1 {p += $(NF - 1); n++} END {printf "%.0f %d\n", p, n}' "$WORK/nfacctd.csv")
  sent_pk=$(field packets "$2.sent")
  echo "$pk $lines $sent_pk $c0 $c1" >"$2.counters"
  NF_CPU=$((NF_CPU + c1 - c0))
  # All records accounted when the packets add up (x 1000, renormalised) and every tunnel sent has
  # its line; else the share of the packets that arrived, and at least one record short.
  GOT=$(awk -v pk="$pk" -v spk="$sent_pk" -v f="$(field flows "$2.sent")" -v lines="$lines" -v t="$TUNNELS" 'BEGIN {
    want = f < t ? f : t
    if (pk == spk * 1000 && lines == want) { print f; exit }
    g = int(f * pk / (spk * 1000)); if (g >= f) g = f - 1; print g }')
}

# --- the ramp ---------------------------------------------------------------------------------------
# ramp SERVER ROUND: offered rate START_RATE, x FACTOR per step, until a step loses a record twice.
# Appends "server round best first_loss records cpu_ticks" to $WORK/results.
ramp() {
  local server=$1 round=$2 rate=$START_RATE best=0 lost_at=none got flows secs cpu0 cpu1 total=0 limited= retried=
  NF_CPU=0
  DRIAD_STEP_CPU=0
  [ "$server" = driad ] && { start_with_retries driad "$WORK/driad.log"; cpu0=$(cpu_of "$SERVER_PID"); }
  while awk -v r="$rate" -v m="$MAX_RATE" 'BEGIN {exit !(r <= m)}'; do
    [ $((SECONDS - BEGAN)) -lt "$TIME_LIMIT" ] || { log "time limit reached: ramp stopped"; limited=" (time limit)"; break; }
    local base=$WORK/$server.r$round.$rate
    "step_$server" "$rate" "$base"
    got=$GOT
    flows=$(field flows "$base.sent")
    secs=$(field seconds "$base.sent")
    total=$((total + got))
    log "round $round $server: offered $rate records/s: sent $flows in ${secs}s, received $got"
    # A step that lost records, or that the generator did not send at its rate (more than 3% short:
    # its core was taken by other work), is run once more: on this shared machine a burst of other
    # work can stall either collector (or the generator) for longer than its socket buffer lasts.
    # Lost twice ends the ramp; twice short too, and the figure is then a floor.
    if [ "$got" -lt "$flows" ]; then
      if [ "$retried" != "$rate" ]; then
        log "lost $((flows - got)) records: step repeated"
        retried=$rate
        continue
      fi
      lost_at=$rate
      break
    fi
    if awk -v f="$flows" -v r="$rate" -v s="$STEP_SECONDS" 'BEGIN {exit !(f < 0.97 * r * s)}'; then
      if [ "$retried" != "$rate" ]; then
        log "the generator sent only $flows records: step repeated"
        retried=$rate
        continue
      fi
      log "WARNING: the generator sent only $flows records twice at $rate records/s: its core is the limit"
      limited=" (generator-bound)"
      break
    fi
    best=$rate
    rate=$(awk -v r="$rate" -v f="$FACTOR" 'BEGIN {printf "%d", r * f + 0.5}')
  done
  if [ "$server" = driad ]; then
    cpu1=$(cpu_of "$SERVER_PID")
    if [ "$round" = 1 ]; then dns_check "$best"; fi
    stop_server
  else
    cpu1=$NF_CPU cpu0=0
  fi
  echo "$server $round $best $lost_at $total $((cpu1 - cpu0))$limited" >>"$WORK/results"
  [ "$server" = driad ] && echo "$total $DRIAD_STEP_CPU" >>"$WORK/driad.stepcpu"
  log "round $round $server: highest zero-loss rate $best records/s (first loss at $lost_at)$limited"
}

# --- DNS under IPFIX load (driad, round 1) ------------------------------------------------------------
dns_check() {
  local rate
  rate=$(awk -v r="$1" -v f="$DNS_FRACTION" -v s="$START_RATE" 'BEGIN {r *= f; printf "%d", (r < s / 2 ? s / 2 : r)}')
  awk 'BEGIN {for (i = 0; i < 1000; i++) printf "%d.%d.%d.%d.amt.in-addr.arpa A\n", 1 + i % 200, (i * 7) % 256, (i * 13) % 256, 1 + i % 223}' >"$WORK/dns.txt"
  local dp=(-s 127.0.0.1 -p "$DNS_PORT" -d "$WORK/dns.txt" -c 2 -T 1 -q 50 -t 2 -l "$DNS_SECONDS")
  taskset -c "$CLIENT_CPU" dnsperf "${dp[@]}" >"$WORK/dns.idle" 2>&1 || die "dnsperf (idle) failed"
  local before after
  before=$(driad_counters)
  taskset -c "$CLIENT_CPU" "$WORK/sender" 127.0.0.1 "$IPFIX_PORT" "$rate" "$((DNS_SECONDS + 2))" "$WORK/stream.bin" >"$WORK/dns.sent" &
  SENDER_PID=$!
  sleep 1
  taskset -c "$CLIENT_CPU" dnsperf "${dp[@]}" >"$WORK/dns.load" 2>&1 || die "dnsperf (under load) failed"
  wait "$SENDER_PID" || die "sender failed"
  SENDER_PID=
  after=$(driad_settled)
  local idle load lost_idle lost_load sent got
  idle=$(awk '/Queries per second:/ {print $4}' "$WORK/dns.idle")
  load=$(awk '/Queries per second:/ {print $4}' "$WORK/dns.load")
  lost_idle=$(sed -n 's/.*Queries lost: *[0-9]* (\([0-9.]*\)%).*/\1/p' "$WORK/dns.idle")
  lost_load=$(sed -n 's/.*Queries lost: *[0-9]* (\([0-9.]*\)%).*/\1/p' "$WORK/dns.load")
  sent=$(field flows "$WORK/dns.sent")
  got=$(echo "$after $before" | awk '{print $1 - $5}')
  echo "dnsperf -c 2 -q 50 -l $DNS_SECONDS (on the generator's core) against driad: idle $idle qps (lost $lost_idle%), under $rate IPFIX records/s $load qps (lost $lost_load%); IPFIX meanwhile: sent $sent, received $got" >"$WORK/dns.summary"
  log "$(cat "$WORK/dns.summary")"
}

: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="driad nfacctd"; else order="nfacctd driad"; fi
  for server in $order; do ramp "$server" "$round"; done
done

# --- summary ----------------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
{
  echo "ipfix: $(cat "$WORK/stream.txt" | sed 's/^stream: //'); $TUNNELS tunnels, Juniper IPv4/IPv6 templates and sampling options (1 in 1000)"
  echo "offered rate from $START_RATE records/s x $FACTOR per ${STEP_SECONDS}s step until a step loses records twice in a row; $ROUNDS round(s), medians; collector on CPU $SERVER_CPU, generator (C, sendmmsg) on CPU $CLIENT_CPU"
  printf '%-9s %22s %s\n' collector "zero-loss records/s" "per round (first loss at)"
  for s in driad nfacctd; do
    printf '%-9s %22s %s\n' "$s" "$(awk -v s="$s" '$1 == s {print $3}' "$WORK/results" | median)" \
      "$(awk -v s="$s" '$1 == s {printf "%s%s(%s) ", sep, $3, $4; sep = ""} ' "$WORK/results")"
  done
  if grep -q '(generator-bound)\|(time limit)' "$WORK/results"; then echo "note: some ramps ended early: $(grep '(generator-bound)\|(time limit)' "$WORK/results" | tr '\n' ';')"; fi
  awk -v tck="$CLK_TCK" '$1 == "driad" {print $5 / ($6 / tck)}' "$WORK/results" | median | awk '{printf "driad records per CPU-second (utime+stime, median over rounds): %d\n", $1}'
  awk -v tck="$CLK_TCK" '$2 > 0 {print $1 / ($2 / tck)}' "$WORK/driad.stepcpu" | median | awk '{printf "driad records per CPU-second (steps only, from each send to its settled counters, as for nfacctd): %d\n", $1}'
  awk -v tck="$CLK_TCK" '$1 == "nfacctd" && $6 > 0 {print $5 / ($6 / tck)}' "$WORK/results" | median | awk '{printf "nfacctd records per CPU-second (core + plugin, while loaded): %d\n", $1}'
  # Pooled over the rounds (all records / all CPU time): a round cut short by other work on the
  # machine counts for little here, where it can be the median above.
  awk -v tck="$CLK_TCK" '$6 > 0 {r[$1] += $5; c[$1] += $6} END {
    d = c["driad"] ? r["driad"] / (c["driad"] / tck) : 0; n = c["nfacctd"] ? r["nfacctd"] / (c["nfacctd"] / tck) : 0
    printf "records per CPU-second pooled over rounds: driad %d, nfacctd %d, driad/nfacctd %.2f\n", d, n, (n ? d / n : 0)}' "$WORK/results"
  [ -f "$WORK/dns.summary" ] && cat "$WORK/dns.summary"
  echo "socket receive buffers: net.core.rmem_max $(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo '?'); driad asks 8388608, $(cat "$WORK/driad.receive" 2>/dev/null); nfacctd asks 8388608 (nfacctd_pipe_size)"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg); run time $((SECONDS - BEGAN)) s"
  d=$(awk '$1 == "driad" {print $3}' "$WORK/results" | median)
  n=$(awk '$1 == "nfacctd" {print $3}' "$WORK/results" | median)
  awk -v d="$d" -v n="$n" 'BEGIN {printf "ipfix records/s driad/nfacctd ratio: %.2f\n", (n > 0 ? d / n : 0)}'
} | tee "$WORK/summary"
