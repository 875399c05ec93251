#!/usr/bin/env bash
# scripts/bench/memory.sh [SIZE_MIB...]   (default: 1024 4096 16384)
#
# Does backup's peak memory grow with the stream? For each size: a dataset
# holding SIZE_MIB MiB of /dev/urandom (written straight into the dataset;
# generation speed does not matter here), then, each under /usr/bin/time:
#   backup send DS@s1 into a fresh repository     (ingest)
#   backup restore DS@s1 --to-file /dev/null      (restore)
# Prints a Markdown table (wall s, MB/s, peak RSS) on stdout. Needs root and
# zfs-fuse; the pool (bench-mem<pid>, a sparse file under BENCH_TMPDIR or
# /var/tmp) is destroyed on exit. BACKUP_BIN picks the binary, else
# target/release/backup is built. Disk: about 2x the largest size.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(1024 4096 16384)
POOL=bench-mem$$
WORK=
POOL_CREATED=0

BENCH_NAME=memory
# shellcheck source=../lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"

cleanup() {
    local rc=$?
    set +e
    remove_pool_and_work
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
    [[ $(id -u) == 0 ]] || die "needs root"
    [[ -x /usr/bin/time ]] || { apt-get update -q >&2; apt-get install -y -q time >&2; }
    if ! zpool list >/dev/null 2>&1; then
        mkdir -p /run/zfs-test
        zfs-fuse -p /run/zfs-test/zfs-fuse.pid
        for _ in $(seq 100); do zpool list >/dev/null 2>&1 && break; sleep 0.2; done
    fi
    if [[ -n ${BACKUP_BIN:-} ]]; then
        BACKUP=$BACKUP_BIN
    else
        (cd "$ROOT" && cargo build --release -q -p backup-cli) >&2
        BACKUP=${CARGO_TARGET_DIR:-$ROOT/target}/release/backup
    fi
    [[ -x $BACKUP ]] || die "no backup binary at $BACKUP"
    local max=0 s
    for s in "${SIZES[@]}"; do
        [[ $s =~ ^[0-9]+$ && $s -ge 16 ]] || die "usage: $0 [SIZE_MIB >= 16 ...]"
        ((s > max)) && max=$s
    done
    WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/bench-mem.XXXXXX")
    truncate -s "$((max + max / 4 + 512))M" "$WORK/pool.img"
    zpool create -m "$WORK/mnt" "$POOL" "$WORK/pool.img" >&2
    POOL_CREATED=1
    export BACKUP_PASSWORD=bench-passphrase BACKUP_CACHE_DIR=$WORK/cache BACKUP_STATE_DIR=$WORK/state
}

# timed OUT CMD...: runs CMD (stdout to OUT) under /usr/bin/time; sets WALL, RSS.
timed() {
    local out=$1
    shift
    /usr/bin/time -o "$WORK/time" -f '%e %M' "$@" >"$out" || die "failed: $* ($(head -1 "$WORK/time"))"
    read -r WALL RSS <"$WORK/time"
}

# row MIB OP BYTES: logs and prints one table row from WALL and RSS.
row() {
    log "$1 MiB $2: ${WALL}s, peak RSS $((RSS / 1024)) MiB"
    awk -v m="$1" -v op="$2" -v b="$3" -v w="$WALL" -v r="$RSS" \
        'BEGIN{printf "| %s | %s | %.0f | %.2f | %.1f | %.0f |\n", m, op, b, w, b / w / 1e6, r / 1024}'
}

one_size() {
    local mib=$1 ds=$POOL/m$1 repo=$WORK/repo-$1 bytes
    log "$mib MiB: writing data"
    zfs create "$ds" >&2
    head -c $((mib * 1048576)) /dev/urandom >"$WORK/mnt/m$mib/data"
    zfs snapshot "$ds@s1" >&2
    "$BACKUP" init --repo "$repo" >/dev/null 2>&1
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    timed "$WORK/send.json" "$BACKUP" -q send "$ds@s1" --repo "$repo" --json
    bytes=$(grep -o '"stream_len":[0-9]*' "$WORK/send.json" | cut -d: -f2)
    [[ -n $bytes ]] || die "no stream_len in: $(cat "$WORK/send.json")"
    row "$mib" ingest "$bytes"
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    timed /dev/null "$BACKUP" -q restore "$ds@s1" --to-file /dev/null --repo "$repo"
    [[ -c /dev/null ]] || die "/dev/null is no longer a character device"
    row "$mib" restore "$bytes"
    retry zfs destroy -r "$ds"
    rm -rf "$repo"
}

main() {
    setup
    echo "backup $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +'%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| MiB | operation | stream bytes | wall s | MB/s | peak RSS MiB |"
    echo "|--:|---|--:|--:|--:|--:|"
    local s
    for s in "${SIZES[@]}"; do one_size "$s"; done
}

main
