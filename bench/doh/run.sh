#!/usr/bin/env bash
# bench/doh: driad's DoH (HTTP/2 + TLS) under h2load, against dnsdist's DoH frontend forwarding to
# driad's UDP port with the same h2load settings, and driad's UDP path under dnsperf, on the same
# queries. See bench/doh/README.md. Knobs (env): DURATION ROUNDS SOURCES CLIENTS STREAMS WARMUP KEEP.
# Loopback only; ports are picked free at run time; every process started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-10}   # seconds of each measured run
ROUNDS=${ROUNDS:-3}        # rounds; each measures every variant, order rotating
SOURCES=${SOURCES:-1000}   # distinct sources (each asked as A and AMTRELAY)
CLIENTS=${CLIENTS:-8}      # h2load -c: connections
STREAMS=${STREAMS:-16}     # h2load -m: concurrent streams per connection
WARMUP=${WARMUP:-2}        # h2load --warm-up-time and the dnsperf warm-up, seconds
KEEP=${KEEP:-0}

SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH_NAME=doh
SERVER_PID=
DNSDIST_PID=
bench_pids() { echo "$DNSDIST_PID $SERVER_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "Debian: nghttp2-client dnsdist dnsperf" node h2load dnsdist dnsperf taskset ss openssl

node "$ROOT/bench/doh/gen.ts" --out "$WORK" --sources "$SOURCES" >&2

DNS_PORT= HTTP_PORT= DOH_PORT= DNSDIST_PORT=

# driad with both relays on loopback.
try_start_driad() {
  DNS_PORT=$(free_port) HTTP_PORT=$(free_port) DOH_PORT=$(free_port)
  cat >"$WORK/driad.yaml" <<YAML
amtRelay: { amtRelayPublicIP: 127.0.0.1 }
gateway: { publicIP: 127.0.0.2 }
log: { level: warn }
doh:
  stateDir: $WORK/doh-state
YAML
  DRIAD_DOH_NATIVE_H2=${NATIVE_H2:-true} taskset -c "$SERVER_CPU" node "$ROOT/src/main.ts" --config "$WORK/driad.yaml" --dns-listen "127.0.0.1:$DNS_PORT" \
    --http-listen "127.0.0.1:$HTTP_PORT" --doh-listen "127.0.0.1:$DOH_PORT" >>"$WORK/driad.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" && [ -n "$(ss -Htln "sport = :$DOH_PORT")" ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/driad.log" >&2; die "driad did not start within 30 s"; }
    sleep 0.2
  done
}
start_driad() { start_with_retries driad "$WORK/driad.log"; }

# dnsdist: one DoH frontend (h2o) with driad's certificate, one backend, driad's UDP port. No
# security polling (it would query the Internet), no console, no cache: it forwards every query.
try_start_dnsdist() {
  DNSDIST_PORT=$(free_port)
  openssl x509 -in "$WORK/doh-state/self-signed.pem" -out "$WORK/cert.pem"
  openssl pkey -in "$WORK/doh-state/self-signed.pem" -out "$WORK/key.pem"
  cat >"$WORK/dnsdist.conf" <<CONF
setSecurityPollSuffix("")
setLocal("127.0.0.1:$(free_port)")
addDOHLocal("127.0.0.1:$DNSDIST_PORT", "$WORK/cert.pem", "$WORK/key.pem", "/dns-query")
newServer({address="127.0.0.1:$DNS_PORT", healthCheckMode="up"})
CONF
  taskset -c "$SERVER_CPU" dnsdist --supervised --disable-syslog -C "$WORK/dnsdist.conf" >>"$WORK/dnsdist.log" 2>&1 &
  DNSDIST_PID=$!
  local deadline=$((SECONDS + 30))
  until [ -n "$(ss -Htln "sport = :$DNSDIST_PORT")" ]; do
    kill -0 "$DNSDIST_PID" 2>/dev/null || { wait "$DNSDIST_PID" 2>/dev/null || true; DNSDIST_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/dnsdist.log" >&2; die "dnsdist did not start within 30 s"; }
    sleep 0.2
  done
}
start_dnsdist() { start_with_retries dnsdist "$WORK/dnsdist.log"; }

stop() {
  local pid
  for pid in $DNSDIST_PID $SERVER_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  DNSDIST_PID= SERVER_PID=
}

# Both frontends must give the same answers before anything is measured.
check_same() {
  local first; first=$(head -1 "$WORK/paths.txt")
  curl -sf --cacert "$WORK/doh-state/self-signed.pem" "https://127.0.0.1:$DOH_PORT$first" | od -An -tx1 >"$WORK/check.driad"
  curl -sf --cacert "$WORK/cert.pem" "https://127.0.0.1:$DNSDIST_PORT$first" | od -An -tx1 >"$WORK/check.dnsdist"
  [ -s "$WORK/check.driad" ] || die "driad's DoH gave no answer to $first"
  diff -q "$WORK/check.driad" "$WORK/check.dnsdist" >/dev/null ||
    die "driad and dnsdist answer $first differently: $(cat "$WORK/check.driad") vs $(cat "$WORK/check.dnsdist")"
}

H2LOAD_ARGS=(-c "$CLIENTS" -m "$STREAMS" -t 1 -D "$DURATION" --warm-up-time="$WARMUP")

# CPU ticks (user + system) of the server processes, threads included.
server_ticks() { local pid t=0; for pid in $DNSDIST_PID $SERVER_PID; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$t"; }
TICK_HZ=$(getconf CLK_TCK)

# h2load against PORT; appends "name rps p99_ms failed server_us_per_request" to results. p99 from
# h2load's per-request log; server CPU per request from the server processes' ticks during the run.
measure_h2() {
  local name=$1 port=$2 round=$3 base=$WORK/$1.r$3 t0 t1
  sed "s|^|https://127.0.0.1:$port|" "$WORK/paths.txt" >"$base.uris"
  # h2load counts only the requests after its warm-up, so the CPU is counted from then on too.
  taskset -c "$CLIENT_CPU" h2load "${H2LOAD_ARGS[@]}" -i "$base.uris" --log-file="$base.lat" >"$base.out" 2>&1 &
  local h2pid=$!
  sleep "$WARMUP"
  t0=$(server_ticks)
  wait "$h2pid" || die "h2load failed against $name: $(tail -5 "$base.out")"
  t1=$(server_ticks)
  local rps failed p99 ok2xx
  rps=$(awk '/^finished in/ {print $4}' "$base.out")
  failed=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^failed/) print $i}' "$base.out")
  ok2xx=$(awk '/^status codes:/ {print $3}' "$base.out")
  [ -n "$rps" ] || die "could not parse h2load output: $base.out"
  p99=$(awk '{print $3}' "$base.lat" | sort -n | awk '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit}; r = int(NR * 0.99); if (r < NR * 0.99) r++; printf "%.3f", v[r] / 1000}')
  local total cpu_us
  total=$(awk '/^requests:/ {print $2}' "$base.out")
  cpu_us=$(awk -v t="$((t1 - t0))" -v hz="$TICK_HZ" -v n="$total" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  log "round $round $name: $rps req/s, p99 $p99 ms, 2xx $ok2xx, failed $failed, server CPU $cpu_us us/request"
  echo "$name $rps $p99 ${failed:-0} $cpu_us" >>"$WORK/results"
}

measure_udp() {
  local round=$1 base=$WORK/udp.r$1
  local args=(-s 127.0.0.1 -p "$DNS_PORT" -d "$WORK/queries.txt" -c 4 -T 1 -q 200 -t 2)
  taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" -l "$WARMUP" >/dev/null 2>&1 || true
  local t0 t1
  t0=$(server_ticks)
  taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" -l "$DURATION" >"$base.qps" 2>&1 || die "dnsperf failed: $(tail -5 "$base.qps")"
  t1=$(server_ticks)
  # p99 from a short verbose run (-v prints each response's latency; it slows dnsperf, hence apart).
  taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" -l 3 -v >"$base.lat" 2>&1 || true
  local qps lost p99 sent
  qps=$(awk '/Queries per second:/ {print $4}' "$base.qps")
  lost=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' "$base.qps")
  p99=$(awk '$1 == ">" && $2 != "T" {print $NF}' "$base.lat" | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit}; r = int(NR * 0.99); if (r < NR * 0.99) r++; printf "%.3f", v[r] * 1000}')
  sent=$(awk '/Queries completed:/ {print $3}' "$base.qps")
  local cpu_us
  cpu_us=$(awk -v t="$((t1 - t0))" -v hz="$TICK_HZ" -v n="$sent" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  log "round $round udp: $qps qps, p99 $p99 ms, lost $lost, server CPU $cpu_us us/query"
  echo "udp $qps $p99 ${lost:-0} $cpu_us" >>"$WORK/results"
}

# driad-nodeh2: driad with doh.nativeH2 false (node:http2), for comparison.
VARIANTS=${VARIANTS:-"driad dnsdist udp driad-nodeh2"}
: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  for v in $VARIANTS; do
    case $v in
      driad) start_driad; measure_h2 driad "$DOH_PORT" "$round"; stop ;;
      dnsdist) start_driad; start_dnsdist; check_same; measure_h2 dnsdist "$DNSDIST_PORT" "$round"; stop ;;
      udp) start_driad; measure_udp "$round"; stop ;;
      driad-nodeh2) NATIVE_H2=false start_driad; measure_h2 driad-nodeh2 "$DOH_PORT" "$round"; stop ;;
    esac
  done
  VARIANTS="$(echo "$VARIANTS" | awk '{for (i = 2; i <= NF; i++) printf "%s ", $i; print $1}')"
done

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v s="$1" -v c="$2" '$1 == s {print $c}' "$WORK/results" | median; }

echo
echo "doh: $(wc -l <"$WORK/paths.txt") queries ($SOURCES sources, A + AMTRELAY, ID 0), loopback, $ROUNDS round(s), medians"
echo "h2load -c $CLIENTS -m $STREAMS -t 1 -D $DURATION --warm-up-time=$WARMUP (HTTP/2 over TLS, GET); dnsperf -c 4 -q 200 -l $DURATION over UDP"
echo "servers on CPU $SERVER_CPU (dnsdist and the driad behind it share it), load on CPU $CLIENT_CPU"
printf '%-12s %10s %9s %8s %14s\n' what "req/s" "p99 ms" "failed" "server us/req"
for s in driad dnsdist udp driad-nodeh2; do
  grep -q "^$s " "$WORK/results" || continue
  printf '%-12s %10.0f %9.3f %8.0f %14s\n' "$s" "$(col "$s" 2)" "$(col "$s" 3)" "$(col "$s" 4)" "$(col "$s" 5)"
done
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 2.5)}' && echo "note: load average $load at the end (2 cores): other processes were busy, figures are noisy"
# Server CPU per request is steadier than req/s when other processes share the machine: the same ratios from it.
cpu_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0) printf "%.2f", b / a; else print "nan"}'; }
echo "by server CPU per request: doh/udp $(cpu_ratio "$(col driad 5)" "$(col udp 5)"), driad/dnsdist $(cpu_ratio "$(col driad 5)" "$(col dnsdist 5)")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }
echo "doh rps: $(printf '%.0f' "$(col driad 2)"), doh/udp ratio: $(ratio "$(col driad 2)" "$(col udp 2)"), driad/dnsdist doh ratio: $(ratio "$(col driad 2)" "$(col dnsdist 2)")"
