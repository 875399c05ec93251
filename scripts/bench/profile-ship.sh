#!/usr/bin/env bash
# scripts/bench/profile-ship.sh [SIZE_MIB]   (default 512)
#
# Where a ship's CPU goes: one `backup send` of a SIZE_MIB file of random
# bytes under `perf record -F 1999 -g`, file manifest on (the default), then
# the same ship with --no-file-manifest, timed, for comparison. Prints both
# times and the flat profile (by library and symbol) of the first. Uses a
# throwaway zfs-fuse pool prof<pid> on a sparse file under /var/tmp and
# target/release/backup (BACKUP_BIN to pick another); both are removed on
# exit. Needs root, perf (linux-perf) and /usr/bin/time. See
# docs/BENCHMARKS.md, "Where the CPU goes".
set -euo pipefail
SIZE_MIB=${1:-512}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin
B=${BACKUP_BIN:-$ROOT/target/release/backup}
[[ -x $B ]] || { echo "profile-ship: no binary at $B (cargo build --release -p backup-cli)" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile-ship: perf not found (apt-get install linux-perf)" >&2; exit 1; }
P=prof$$
W=$(mktemp -d /var/tmp/profile-ship.XXXXXX)
POOL_MADE=0
cleanup() {
    if ((POOL_MADE)); then zpool destroy "$P" || true; fi
    rm -rf "$W"
}
trap cleanup EXIT
truncate -s $((SIZE_MIB * 4))M "$W/pool.img"
zpool create "$P" "$W/pool.img"
POOL_MADE=1
zfs create "$P/rand"
D=$(zfs get -H -o value mountpoint "$P/rand")
head -c "${SIZE_MIB}M" /dev/urandom >"$D/data"
zfs snapshot "$P/rand@s1"
echo profile >"$W/pw"
export BACKUP_PASSWORD_FILE=$W/pw
"$B" init --repo "$W/r1" >/dev/null 2>&1
"$B" init --repo "$W/r2" >/dev/null 2>&1
sync
echo 3 >/proc/sys/vm/drop_caches
/usr/bin/time -f "manifest on: %e s wall, %U s user, %S s sys, %M KiB peak" \
    perf record -q -F 1999 -g -o "$W/on.data" \
    "$B" -q send "$P/rand@s1" --repo "$W/r1" --state-dir "$W/st1" >/dev/null
sync
echo 3 >/proc/sys/vm/drop_caches
/usr/bin/time -f "manifest off: %e s wall, %U s user, %S s sys, %M KiB peak" \
    "$B" -q send "$P/rand@s1" --repo "$W/r2" --state-dir "$W/st2" --no-file-manifest >/dev/null
echo "flat profile of the first (self time, by library and symbol):"
perf report -i "$W/on.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep -v '^#' | grep '%' | head -25
