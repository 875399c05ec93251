#!/usr/bin/env bash
# The openzfs-vm lane, for CI: the project's end-to-end tests against real
# OpenZFS 2.x, in a Debian 12 guest under qemu (TCG).
#
# Usage: run-e2e.sh [--smoke | --no-smoke] [run.sh options] [-- TEST-ARGS...]
#   (default)    smoke.sh, then the e2e test binary, in one boot
#   --smoke      only smoke.sh (no cargo build)
#   --no-smoke   only the e2e test binary
#   TEST-ARGS    passed to the e2e binary (libtest: a filter, --test-threads=1, ...)
#   run.sh options (--timeout, --mem, --results DIR, ...) are passed on.
#
# On the host: builds the guest image if its recipe changed (build-image.sh),
# `cargo build --release -p backup-cli` and the e2e test binary (release),
# then runs them in the guest with BACKUP_TEST_ZFS=openzfs, the project
# mounted at its host path, and the package directory crates/cli as the
# working directory (as `cargo test` does). Exit status: non-zero if the smoke
# or any test failed, or the guest crashed or timed out.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

smoke=1
e2e=1
run_opts=()
test_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --smoke) e2e=0; smoke=1; shift ;;
        --no-smoke) smoke=0; e2e=1; shift ;;
        --) shift; test_args=("$@"); break ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) run_opts+=("$1"); shift ;;
    esac
done

[ "$(id -u)" = 0 ] || die "run-e2e.sh must run as root (apt-get, debootstrap, qemu with 9p)"
t0=$(date +%s)
ensure_run_tools      # one apt-get update for all host tools
ensure_build_tools
"$VM_DIR/build-image.sh" >/dev/null
t_image=$(( $(date +%s) - t0 ))

pkg_dir=$PROJECT_DIR/crates/cli
exe=
if [ "$e2e" = 1 ]; then
    log "cargo build --release -p backup-cli"
    (cd "$PROJECT_DIR" && cargo build --release -p backup-cli)
    exe=$(e2e_exe)
    log "e2e test executable: $exe"
    case $exe in
        "$PROJECT_DIR"/*) ;;
        *) die "$exe is outside $PROJECT_DIR, the only host directory the guest sees (CARGO_TARGET_DIR?)" ;;
    esac
fi
t_build=$(( $(date +%s) - t0 - t_image ))

guest_cmd=(bash "$VM_DIR/lane.sh")
[ "$smoke" = 0 ] || guest_cmd+=(--smoke)
[ -z "$exe" ] || guest_cmd+=(-- "$exe" ${test_args[@]+"${test_args[@]}"})

set +e
BACKUP_TEST_ZFS=openzfs "$VM_DIR/run.sh" \
    --workdir "$pkg_dir" \
    --env "CARGO_MANIFEST_DIR=$pkg_dir" \
    --env CARGO_PKG_NAME=backup-cli \
    --env "RUST_BACKTRACE=${RUST_BACKTRACE:-1}" \
    ${run_opts[@]+"${run_opts[@]}"} -- "${guest_cmd[@]}"
rc=$?
set -e
t_run=$(( $(date +%s) - t0 - t_image - t_build ))
log "lane done: exit $rc (image ${t_image}s, cargo ${t_build}s, guest run ${t_run}s)"
exit "$rc"
