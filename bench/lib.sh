# Shared by the bench/*/run.sh scripts; source it after setting BENCH_NAME, KEEP, SERVER_CPU and
# CLIENT_CPU (and BENCH_DEBS, the Debian packages the bench needs, if any), and define bench_pids
# (the processes to stop on exit).
# After bench_setup: ROOT is the repository, WORK a fresh work dir under bench/out/.

die() { echo "$BENCH_NAME: ERROR: $*" >&2; exit 1; }
log() { echo "$BENCH_NAME: $*" >&2; }

# bench_setup "HINT" TOOL...: installs the missing BENCH_DEBS (scripts/provision.sh), checks the
# tools (HINT says where to get them), Node 24 and driad, builds the native UDP addon, pins to one
# CPU when there is only one, makes WORK, arms cleanup.
bench_setup() {
  local hint=$1 tool
  shift
  if [ -n "${BENCH_DEBS:-}" ]; then
    # shellcheck source=scripts/provision.sh
    . "$ROOT/scripts/provision.sh"
    # shellcheck disable=SC2086 # a list of package names
    ensure_debs $BENCH_DEBS || die "could not install the Debian packages $BENCH_DEBS"
  fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found ($hint; Node 24 on PATH)"
  done
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ] || die "Node >= 24 needed, found $(node --version)"
  [ -f "$ROOT/src/main.ts" ] || die "src/main.ts not found: driad is not there to measure"
  bash "$ROOT/scripts/build-native.sh"
  if [ "$(nproc)" -lt 2 ]; then SERVER_CPU=0; CLIENT_CPU=0; log "WARNING: one CPU only, the server and the load share it"; fi
  mkdir -p "$ROOT/bench/out"
  WORK=$(mktemp -d "$ROOT/bench/out/$BENCH_NAME.XXXXXX")
  trap bench_cleanup EXIT
  # set -e stops on a failing command without a word: name it (in the main shell, not in $(...)).
  set -E
  trap 'bench_status=$?; [ "$BASHPID" != "$$" ] || log "ERROR: stopped at line $LINENO: $BASH_COMMAND (status $bench_status)"' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local status=$? pid
  for pid in $(bench_pids); do kill "$pid" 2>/dev/null || true; done
  for pid in $(bench_pids); do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}

# A port unused by any UDP or TCP socket, below the kernel's ephemeral range (so that no client
# socket of dnsperf, dig or another session's tests grabs it meanwhile). Start-up retries anyway.
EPHEMERAL_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local p low=10000
  [ "$EPHEMERAL_LOW" -gt $((low + 1000)) ] || low=1024
  for _ in $(seq 200); do
    p=$((low + RANDOM % (EPHEMERAL_LOW - low)))
    if [ -z "$(ss -Hanut "sport = :$p")" ]; then echo "$p"; return; fi
  done
  die "no free port found"
}

# start_with_retries NAME LOG: runs try_start_NAME (returns 1 when the server exited during
# start-up) up to 3 times, with fresh ports when a port was taken meanwhile.
start_with_retries() {
  local try
  for try in 1 2 3; do
    if "try_start_$1"; then return; fi
    grep -qi 'EADDRINUSE\|address already in use' "$2" || { tail -20 "$2" >&2; die "$1 exited during startup"; }
    log "$1: port taken, retrying with another"
    : >"$2"
  done
  die "$1: could not bind a free port in 3 tries"
}

# bench_install_debs PKG...: installs the Debian packages a benchmark (not the tests) needs when
# they are missing, as root with apt-get (an `apt-get update` first if the install fails).
bench_install_debs() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "Debian packages missing: ${missing[*]} (install them as root)"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; } ||
    die "could not install ${missing[*]}"
}
