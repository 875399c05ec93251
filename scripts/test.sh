#!/usr/bin/env bash
# The whole test suite: unit tests, format tests, and end-to-end tests that
# drive the real `backup` binary against real ZFS (zfs-fuse, installed and
# started here if needed). Run as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zfs.sh
ensure_zfs
# systemd-analyze checks the units `backup schedule install` writes.
apt_install systemd
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --features backup-zfs/test-pool --no-fail-fast "$@"
else
  cargo test --workspace --features backup-zfs/test-pool --no-fail-fast "$@"
fi
