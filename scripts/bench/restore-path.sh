#!/usr/bin/env bash
# scripts/bench/restore-path.sh [SIZE_MIB]   (default 2048; BENCH_SIZE=small: 20)
#
# One file back against the whole dataset (issue 15, docs/design.md §17.9).
# On a throwaway zfs-fuse pool, a dataset of SIZE_MIB MiB of /dev/urandom
# files: small.bin (1 MiB), big.bin (100 MiB; 8 MiB when small) and the
# rest in four large files. It ships a full (@s1) and three incrementals:
#   @s2  small.bin rewritten, 8 MiB of large1.bin overwritten, new2.bin (5 MiB)
#   @s3  10 MiB in the middle of big.bin overwritten, 4 MiB of large2.bin,
#        new3.bin (3 MiB)
#   @s4  8 MiB of large3.bin overwritten, new4.bin (2 MiB), new2.bin deleted
# then measures, each BENCH_RUNS times (default 3), the fastest kept:
#   small-fast   restore DS@s4 --path small.bin --into DIR --fast-only --json
#   big-fast     restore DS@s4 --path big.bin   --into DIR --fast-only --json
#   small-slow   restore DS@s4 --path small.bin --into DIR --slow-path --json
#   whole        restore DS@s4 --to POOL/whole   (the chain of 4 received)
# Each restored file is compared with the dataset's own copy (untimed).
# For every row: wall s, peak RSS (/usr/bin/time), meta_fetched and
# data_fetched from --json (stored bytes), and rchar of /proc/PID/io (bytes
# the backup process and its children got from read(2)-like calls: the
# repository's files, the catalog, the config; the page cache is not
# dropped unless BENCH_DROP_CACHES=1, so rchar, not read_bytes, is the
# figure that counts the repository reads).
#
# Progress goes to stderr; a Markdown report to stdout. Needs root and
# zfs-fuse (started if `zpool list` fails). The pool, bench-rp<pid> on a
# sparse file under BENCH_TMPDIR (/var/tmp), and its directory are removed
# on exit. BACKUP_BIN picks the binary, else target/release/backup is
# built. Disk: about 4x SIZE_MIB at the peak (5x + 1 GiB free is required).
# See docs/BENCHMARKS.md.
#
# Environment knobs:
#   BENCH_SIZE          small: a 20 MiB dataset, one run each (a smoke, seconds)
#   BENCH_RUNS          runs per measurement, fastest kept (3; 1 when small)
#   BENCH_DROP_CACHES   1: sync and drop the page cache before each run (0)
#   BENCH_TMPDIR        where the pool file, repository and restores go
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ ${BENCH_SIZE:-} == small ]]; then
    SIZE_MIB=${1:-20} BIG_MIB=8 RUNS=${BENCH_RUNS:-1}
else
    SIZE_MIB=${1:-2048} BIG_MIB=100 RUNS=${BENCH_RUNS:-3}
fi
DROP_CACHES=${BENCH_DROP_CACHES:-0}
POOL=bench-rp$$
DS=$POOL/src
WORK=
POOL_CREATED=0

BENCH_NAME=restore-path
# shellcheck source=../lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"
# shellcheck source=../lib/zfs.sh
source "$ROOT/scripts/lib/zfs.sh"

cleanup() {
    local rc=$?
    set +e
    remove_pool_and_work
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
    [[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge $((BIG_MIB + 8)) ]] ||
        die "usage: $0 [SIZE_MIB >= $((BIG_MIB + 8))]"
    ensure_zfs
    [[ -x /usr/bin/time ]] || apt_install time
    if [[ -n ${BACKUP_BIN:-} ]]; then
        BACKUP=$BACKUP_BIN
    else
        log "building backup (release)"
        (cd "$ROOT" && cargo build --release -q -p backup-cli) >&2
        BACKUP=${CARGO_TARGET_DIR:-$ROOT/target}/release/backup
    fi
    [[ -x $BACKUP ]] || die "no backup binary at $BACKUP"
    # The pool, the repository, the whole restore and the slow path's
    # scratch pool hold about 4x the dataset at the peak; a full disk on a
    # shared machine fails everyone's builds, so refuse first.
    local free_mib need_mib=$((SIZE_MIB * 5 + 1024))
    free_mib=$(df -Pm "${BENCH_TMPDIR:-/var/tmp}" | awk 'NR == 2 {print $4}')
    ((free_mib >= need_mib)) || die "needs $need_mib MiB free in ${BENCH_TMPDIR:-/var/tmp}, has $free_mib"
    WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/bench-rp.XXXXXX")
    truncate -s "$((SIZE_MIB * 2 + 512))M" "$WORK/pool.img"
    zpool create -m "$WORK/mnt" "$POOL" "$WORK/pool.img" >&2
    POOL_CREATED=1
    export BACKUP_PASSWORD=bench-passphrase BACKUP_CACHE_DIR=$WORK/cache
    export BACKUP_CONFIG=$WORK/no-config.toml
    unset BACKUP_REPOSITORY || true
    REPO=$WORK/repo
    "$BACKUP" init --repo "$REPO" >/dev/null
}

# rand FILE MIB: MIB MiB of /dev/urandom into FILE (replacing it).
rand() { head -c $(($2 * 1048576)) /dev/urandom >"$1"; }
# overwrite FILE OFFSET_MIB MIB: MIB MiB of new random data at OFFSET_MIB.
overwrite() {
    dd if=/dev/urandom of="$1" bs=1M seek="$2" count="$3" conv=notrunc status=none
}

make_chain() {
    local d=$WORK/mnt/src rest=$((SIZE_MIB - 1 - BIG_MIB)) i
    zfs create "$DS" >&2
    log "writing $SIZE_MIB MiB into $DS"
    rand "$d/small.bin" 1
    rand "$d/big.bin" "$BIG_MIB"
    for i in 1 2 3 4; do rand "$d/large$i.bin" $((rest / 4 + (i == 4 ? rest % 4 : 0))); done
    sync
    zfs snapshot "$DS@s1" >&2
    ship s1
    rand "$d/small.bin" 1
    overwrite "$d/large1.bin" 2 $((BIG_MIB < 100 ? 1 : 8))
    rand "$d/new2.bin" 5
    sync
    zfs snapshot "$DS@s2" >&2
    ship s2
    overwrite "$d/big.bin" $((BIG_MIB / 2)) $((BIG_MIB < 100 ? 2 : 10))
    overwrite "$d/large2.bin" 1 $((BIG_MIB < 100 ? 1 : 4))
    rand "$d/new3.bin" 3
    sync
    zfs snapshot "$DS@s3" >&2
    ship s3
    overwrite "$d/large3.bin" 3 $((BIG_MIB < 100 ? 1 : 8))
    rand "$d/new4.bin" 2
    rm "$d/new2.bin"
    sync
    zfs snapshot "$DS@s4" >&2
    ship s4
    # The snapshot's own copies, to compare restores with.
    SNAPDIR=$WORK/mnt/src/.zfs/snapshot/s4
    [[ -e $SNAPDIR/small.bin ]] || SNAPDIR=$d
}

ship() {
    /usr/bin/time -o "$WORK/time" -f '%e %M' \
        "$BACKUP" -q send "$DS@$1" --repo "$REPO" --json >"$WORK/send-$1.json"
    local stream stored
    stream=$(grep -o '"stream_len": *[0-9]*' "$WORK/send-$1.json" | grep -o '[0-9]*$')
    stored=$(grep -o '"new_stored_bytes": *[0-9]*' "$WORK/send-$1.json" | grep -o '[0-9]*$')
    log "shipped @$1: stream $stream bytes, $stored new stored bytes, $(cut -d' ' -f1 "$WORK/time") s"
    printf '| @%s | %s | %s | %s |\n' "$1" "$stream" "$stored" "$(cut -d' ' -f1 "$WORK/time")" >>"$WORK/ships"
}

drop_caches() {
    [[ $DROP_CACHES == 1 ]] || return 0
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}

# io_run OUT CMD...: CMD (stdout to OUT) in a shell that, once CMD is
# reaped, copies its own /proc/PID/io (which then includes CMD's) to
# $WORK/io; /usr/bin/time around the lot.
io_run() {
    local out=$1
    shift
    /usr/bin/time -o "$WORK/time" -f '%e %M' \
        sh -c '"$@" >"$0"; rc=$?; cat /proc/$$/io >"$IO_OUT"; exit $rc' "$out" "$@"
}

# measure NAME PATH|- MODE: BENCH_RUNS runs; keeps the fastest in $WORK/rows.
measure() {
    local name=$1 path=$2 mode=$3 i wall rss rchar meta data best=
    for ((i = 1; i <= RUNS; i++)); do
        rm -rf "$WORK/into"
        if zfs list -H -o name "$POOL/whole" >/dev/null 2>&1; then retry zfs destroy -r "$POOL/whole"; fi
        drop_caches
        local load
        load=$(cut -d' ' -f1 /proc/loadavg)
        if [[ $mode == whole ]]; then
            IO_OUT=$WORK/io io_run "$WORK/out.json" "$BACKUP" -q restore "$DS@s4" --to "$POOL/whole" --repo "$REPO" ||
                die "$name run $i failed: $(tail -3 "$WORK/time")"
            meta=- data=-
        else
            IO_OUT=$WORK/io io_run "$WORK/out.json" "$BACKUP" -q restore "$DS@s4" --path "$path" \
                --into "$WORK/into" "--$mode" --json --repo "$REPO" ||
                die "$name run $i failed: $(tail -3 "$WORK/time")"
            meta=$(grep -o '"meta_fetched": *[0-9]*' "$WORK/out.json" | grep -o '[0-9]*$')
            data=$(grep -o '"data_fetched": *[0-9]*' "$WORK/out.json" | grep -o '[0-9]*$')
            cmp "$WORK/into/$path" "$SNAPDIR/$path" || die "$name: restored $path differs from the snapshot's"
        fi
        read -r wall rss <"$WORK/time"
        rchar=$(awk '$1 == "rchar:" {print $2}' "$WORK/io")
        log "$name run $i: ${wall}s, peak RSS $((rss / 1024)) MiB, meta $meta, data $data, rchar $rchar, load $load"
        if [[ -z $best ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN{exit !(a < b)}'; then
            best="$wall $rss $meta $data $rchar $load"
        fi
    done
    echo "$name $best" >>"$WORK/rows"
}

report() {
    local chain_meta small big
    small=$(stat -c %s "$SNAPDIR/small.bin")
    big=$(stat -c %s "$SNAPDIR/big.bin")
    echo "### restore-path.sh $SIZE_MIB — $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -r)"
    echo "- backup: git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), binary $BACKUP"
    echo "- dataset $DS: $(zfs list -H -o refer "$DS@s4") referenced at @s4, repository $(du -sb "$REPO" | cut -f1) bytes; page cache dropped: $([[ $DROP_CACHES == 1 ]] && echo yes || echo no)"
    echo "- load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| ship | stream bytes | new stored bytes | wall s |"
    echo "|---|--:|--:|--:|"
    cat "$WORK/ships"
    echo
    echo "Best of $RUNS (lowest wall). Fetched = meta_fetched + data_fetched of --json (stored bytes);"
    echo "rchar = bytes the process read (/proc/PID/io). Load = 1-min load average at start."
    echo
    echo "| row | file bytes | wall s | peak RSS MiB | meta_fetched | data_fetched | fetched | rchar | load |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
    awk -v small="$small" -v big="$big" '{
        size = ($1 ~ /^small/) ? small : ($1 ~ /^big/) ? big : "-"
        fetched = ($4 == "-") ? "-" : $4 + $5
        printf "| %s | %s | %.2f | %.0f | %s | %s | %s | %s | %s |\n", $1, size, $2, $3 / 1024, $4, $5, fetched, $6, $7
    }' "$WORK/rows"
    echo
    awk -v small="$small" -v big="$big" '
        { w[$1] = $2; m[$1] = $4; d[$1] = $5; r[$1] = $6 }
        END {
            for (k in w) if (k ~ /fast/) {
                size = (k ~ /^small/) ? small : big
                bound = 3 * size + m[k]
                printf "- %s: fetched %d bytes against 3 x %d + meta %d = %d: %s\n", k, m[k] + d[k], size, m[k], bound, (m[k] + d[k] < bound ? "MET" : "MISSED")
            }
            printf "- small-fast wall %.2f s against whole %.2f s / 10 = %.2f s: %s\n", w["small-fast"], w["whole"], w["whole"] / 10, (w["small-fast"] < w["whole"] / 10 ? "MET" : "MISSED")
            printf "- small-slow wall %.2f s (%.1fx small-fast)\n", w["small-slow"], w["small-slow"] / w["small-fast"]
        }' "$WORK/rows"
}

main() {
    [[ $(id -u) == 0 ]] || die "needs root (zfs-fuse)"
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    setup
    make_chain
    : >"$WORK/rows"
    # One untimed listing first: the catalog sync is not what is measured.
    "$BACKUP" -q ls "$DS@s4" --repo "$REPO" >/dev/null
    measure small-fast small.bin fast-only
    measure big-fast big.bin fast-only
    measure small-slow small.bin slow-path
    measure whole - whole
    report
}

main
