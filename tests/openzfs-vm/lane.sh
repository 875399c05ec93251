#!/usr/bin/env bash
# Runs in the openzfs-vm guest (run-e2e.sh puts it there): the smoke test,
# the zfs crate's integration tests, then the end-to-end tests, each as
# `cargo test` would run it (its package directory as the working directory,
# CARGO_MANIFEST_DIR and CARGO_PKG_NAME set); fails if any part did, after
# running them all.
# Usage: lane.sh [--smoke] [--zfs EXECUTABLE] [--e2e EXECUTABLE [TEST-ARGS...]]
#   TEST-ARGS go to the e2e executable only.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)
rc=0
failed=()

# part NAME PACKAGE-DIR PACKAGE-NAME COMMAND...
part() {
    local name=$1 dir=$2 pkg=$3 t0=$SECONDS
    shift 3
    echo "==== openzfs-vm: $name: $*"
    # --report-time: each test's duration in the log, to see what the
    # lane's minutes go to (a libtest option stable builds allow with
    # RUSTC_BOOTSTRAP=1; smoke.sh is not a test executable).
    local times=()
    [ "$name" = smoke ] || times=(-Z unstable-options --report-time)
    if (cd "$dir" && CARGO_MANIFEST_DIR=$dir CARGO_PKG_NAME=$pkg RUSTC_BOOTSTRAP=1 \
            "$@" ${times[@]+"${times[@]}"}); then
        echo "==== openzfs-vm: $name passed in $(( SECONDS - t0 ))s"
    else
        echo "==== openzfs-vm: $name FAILED in $(( SECONDS - t0 ))s"
        rc=1
        failed+=("$name")
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
        --smoke) part smoke "$project" backup bash "$here/smoke.sh"; shift ;;
        --zfs) part "zfs crate" "$project/crates/zfs" backup-zfs "$2"; shift 2 ;;
        --e2e) shift; part e2e "$project/crates/cli" backup-cli "$@"; break ;;
        *) echo "lane.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ "$rc" = 0 ] || echo "==== openzfs-vm: failed: ${failed[*]}"
exit "$rc"
