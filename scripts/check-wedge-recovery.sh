#!/usr/bin/env bash
# Proves that a wedged zfs-fuse is named and recovered, never waited on:
# runs the ignored tests that stop the daemon on purpose (SIGSTOP), alone,
# one at a time, since they stop the daemon every other test uses:
#   - crates/zfs/tests/integration/wedge.rs: a zfs call times out, the test
#     pool's recovery aborts the stuck FUSE connection and restarts the
#     daemon, and the error says ZfsError::Wedged;
#   - tests/e2e/wedge.rs: `backup send` exits 1 naming the command and the
#     snapshot within its BACKUP_ZFS_TIMEOUT, and the harness reports a wedge.
# Run after scripts/test.sh has installed and started zfs-fuse; CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zfs.sh
ensure_zfs
started=$SECONDS
cargo nextest run --workspace --features backup-zfs/test-pool -j 1 \
  --run-ignored only --no-tests=fail --no-capture -E 'test(/^wedge::/)' "$@"
# The daemon the tests left must be healthy.
timeout -k 5 30 zpool list >/dev/null
echo "check-wedge-recovery: passed in $((SECONDS - started)) s"
