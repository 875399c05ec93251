#!/usr/bin/env bash
# The openzfs-vm lane, for CI: the project's tests against real OpenZFS 2.x,
# in a Debian 12 guest under qemu (TCG).
#
# Usage: run-e2e.sh [--parts LIST | --smoke | --no-smoke] [--zfs VARIANT]
#                   [run.sh options] [-- TEST-ARGS...]
#   --parts LIST  which parts, in this order, comma-separated (default all):
#                   smoke  smoke.sh, OpenZFS features through plain zfs commands
#                   zfs    the zfs crate's integration tests
#                   e2e    the end-to-end tests (the `backup` binary)
#   --smoke       only smoke.sh (no cargo build); --no-smoke: zfs,e2e
#   --zfs VARIANT the guest's OpenZFS: stable (2.1.x, default) or backports
#                 (2.3.x); each variant has its own cached image
#   TEST-ARGS     passed to the e2e executable (libtest: a filter, --skip ...)
#   run.sh options (--timeout, --mem, --results DIR, ...) are passed on.
#
# On the host: builds the guest image if its recipe changed (build-image.sh),
# the test executables (release; the e2e one's build makes the `backup`
# binary it runs, with the test-hooks feature its dev-dependency turns on),
# then runs them in one boot of the guest with BACKUP_TEST_ZFS=openzfs and
# the project mounted at its host path (lane.sh). Exit status: non-zero if
# any part failed (all parts run), or the guest crashed or timed out.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parts=smoke,zfs,e2e
run_opts=()
test_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --parts) parts=$2; shift 2 ;;
        --smoke) parts=smoke; shift ;;
        --no-smoke) parts=zfs,e2e; shift ;;
        --zfs) set_vm_zfs "$2"; run_opts+=(--zfs "$2"); shift 2 ;;
        --) shift; test_args=("$@"); break ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) run_opts+=("$1"); shift ;;
    esac
done
IFS=, read -r -a part_list <<<"$parts"
for p in "${part_list[@]}"; do
    case $p in smoke|zfs|e2e) ;; *) die "--parts: unknown part \"$p\" (smoke, zfs, e2e)" ;; esac
done
has_part() { [[ ,$parts, == *,$1,* ]]; }

[ "$(id -u)" = 0 ] || die "run-e2e.sh must run as root (apt-get, debootstrap, qemu with 9p)"
t0=$(date +%s)
ensure_run_tools      # one apt-get update for all host tools
ensure_build_tools
BACKUP_VM_ZFS=$VM_ZFS "$VM_DIR/build-image.sh" >/dev/null
t_image=$(( $(date +%s) - t0 ))

guest_cmd=(bash "$VM_DIR/lane.sh")
for p in "${part_list[@]}"; do
    case $p in
        smoke) guest_cmd+=(--smoke) ;;
        zfs) exe=$(zfs_tests_exe); log "zfs crate test executable: $exe"
             guest_cmd+=(--zfs "$exe") ;;
        e2e) ;; # last, with the test arguments
    esac
done
if has_part e2e; then
    exe=$(e2e_exe)
    log "e2e test executable: $exe"
    guest_cmd+=(--e2e "$exe" ${test_args[@]+"${test_args[@]}"})
fi
t_build=$(( $(date +%s) - t0 - t_image ))

set +e
BACKUP_TEST_ZFS=openzfs "$VM_DIR/run.sh" \
    --workdir "$PROJECT_DIR" \
    --env "RUST_BACKTRACE=${RUST_BACKTRACE:-1}" \
    ${run_opts[@]+"${run_opts[@]}"} -- "${guest_cmd[@]}"
rc=$?
set -e
t_run=$(( $(date +%s) - t0 - t_image - t_build ))
log "lane done: exit $rc (image ${t_image}s, cargo ${t_build}s, guest run ${t_run}s)"
exit "$rc"
