#!/usr/bin/env bash
# bench/failover: time from an MX failure (a down signal, or its signals going silent) to the
# first DNS answer naming the gateway. See bench/failover/README.md.
# Knobs (env): TRIALS SILENT_TRIALS INTERVAL_MS SILENCE_INTERVALS MAX_AGE_MS SIGNALS WARMUP SERVER_CPU CLIENT_CPU TIME_LIMIT KEEP.
# Loopback only; ports are picked free at run time; every process started here is stopped on exit.
set -euo pipefail

export TRIALS=${TRIALS:-200}               # (a) detected: trials
export SILENT_TRIALS=${SILENT_TRIALS:-100} # (b) silent: trials (100: p99 is the 99th value, not the max)
export INTERVAL_MS=${INTERVAL_MS:-100}     # (b) signal interval, sent as the signals' intervalMs
export SILENCE_INTERVALS=${SILENCE_INTERVALS:-3} # (b) driad's health.silenceIntervals: the target is this many intervals
export MAX_AGE_MS=${MAX_AGE_MS:-}          # (b) set: signals carry this maxAgeMs instead of intervalMs
export SIGNALS=${SIGNALS:-3}               # (b) signals per trial, the last one at t0
export WARMUP=${WARMUP:-10}                # unrecorded trials before (a) (and up to 3 before (b))
TIME_LIMIT=${TIME_LIMIT:-300}              # seconds: the driver is stopped after this long
KEEP=${KEEP:-0}                            # 1: keep the work dir (config, driad log)

# CPU pinning on the 2-core machine: driad on one core, the driver (DNS poller + HTTP client) on the other.
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

cd "$(dirname "$0")/../.."
ROOT=$PWD

BENCH_NAME=failover
SERVER_PID=
DRIVER_PID=
bench_pids() { echo "$DRIVER_PID $SERVER_PID"; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "Debian: bind9-dnsutils util-linux iproute2 coreutils" node dig taskset ss timeout

# Health policy that makes trials repeatable: a down signal takes effect at once (downAfter 1, the
# default), and a good signal brings the MX back at once (upAfter 1, no minimum hold), so each trial
# starts from the same state without waiting out hysteresis. The embedded defaults supply the rest
# (MX 69.25.95.1, gateway 192.0.2.10, zones/).
cat >"$WORK/driad.yaml" <<EOF
health:
  downAfter: 1
  upAfter: 1
  minHoldMs: 0
  silenceIntervals: $SILENCE_INTERVALS
log:
  level: info
EOF

# The admin token goes through the environment, not the command line (ps shows arguments).
TOKEN="bench-failover-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
DNS_PORT=
HTTP_PORT=

try_start_driad() {
  DNS_PORT=$(free_port)
  HTTP_PORT=$(free_port)
  [ "$HTTP_PORT" != "$DNS_PORT" ] || HTTP_PORT=$(free_port)
  DRIAD_ADMIN_TOKEN=$TOKEN taskset -c "$SERVER_CPU" node "$ROOT/src/main.ts" --config "$WORK/driad.yaml" \
    --dns-listen "127.0.0.1:$DNS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" --doh-listen 127.0.0.1:0 >>"$WORK/driad.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 20))
  until dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" 10.95.25.69.amt.in-addr.arpa A 2>/dev/null |
    grep -qE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'; do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$WORK/driad.log" >&2; die "driad did not answer within 20 s"; }
    sleep 0.2
  done
  grep -q '"msg":"HTTP listening' "$WORK/driad.log" || sleep 0.5
}

start_with_retries driad "$WORK/driad.log"
answer=$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" 10.95.25.69.amt.in-addr.arpa A)
[ "$answer" = 69.25.95.1 ] || die "driad's A answer for 10.95.25.69.amt.in-addr.arpa is '$answer', expected 69.25.95.1 (the MX)"
if grep -q '"udpBatch":true' "$WORK/driad.log"; then udp_path="batched (native recvmmsg/sendmmsg)"; else udp_path="node:dgram"; fi
log "driad pid $SERVER_PID on CPU $SERVER_CPU: DNS 127.0.0.1:$DNS_PORT (UDP path: $udp_path), HTTP 127.0.0.1:$HTTP_PORT"

# The driver prints progress on stderr and the table on stdout (last two lines: the summary figures).
FAILOVER_DNS_PORT=$DNS_PORT FAILOVER_HTTP_PORT=$HTTP_PORT FAILOVER_TOKEN=$TOKEN \
  timeout "$TIME_LIMIT" taskset -c "$CLIENT_CPU" node "$ROOT/bench/failover/failover.ts" >"$WORK/driver.out" &
DRIVER_PID=$!
status=0
wait "$DRIVER_PID" || status=$?
DRIVER_PID=
if [ "$status" != 0 ]; then
  cat "$WORK/driver.out"
  [ "$status" != 124 ] || die "the driver did not finish within TIME_LIMIT=$TIME_LIMIT s"
  tail -5 "$WORK/driad.log" >&2
  die "the driver failed (exit $status)"
fi
kill -0 "$SERVER_PID" 2>/dev/null || die "driad exited during the run: $(tail -5 "$WORK/driad.log")"
if ! awk '/failover: ERROR|"level":(50|60)/ {bad = 1} END {exit bad}' "$WORK/driad.log"; then
  log "WARNING: driad logged errors during the run:"
  grep '"level":\(50\|60\)' "$WORK/driad.log" | tail -5 >&2
fi
# Table, with the machine's context before the two summary lines that must stay last.
head -n -2 "$WORK/driver.out"
echo "driad UDP path: $udp_path; driad on CPU $SERVER_CPU, driver on CPU $CLIENT_CPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
tail -n 2 "$WORK/driver.out"
