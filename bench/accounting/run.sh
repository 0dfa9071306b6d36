#!/usr/bin/env bash
# Accounting spool throughput with each fsync policy (records/s appended and read back).
set -euo pipefail
cd "$(dirname "$0")/../.."
node bench/accounting/spool-rate.ts "${1:-200000}"
