#!/usr/bin/env bash
# scripts/bench/browse.sh   (BENCH_SIZE=small: a 10,000-entry smoke, seconds)
#
# `backup ls`, `find` and `diff` on big file manifests (issue 15: "a
# manifest of 1 million entries answers ls, find across 30 snapshots and
# diff in seconds and well under 300 MiB"). Making a million files on
# zfs-fuse is slow, so the example crates/cli/examples/file_list_scale.rs
# stores the manifests directly: a repository made by `backup init`
# (default settings), BENCH_SNAPSHOTS snapshots bench/files@s01.. each with
# a tiny synthetic stream and a manifest of BENCH_ENTRIES entries
# (dirNNNN/subNN/fileNNNNN), BENCH_CHANGED files changed between
# consecutive ones. Then the release binary runs, each under /usr/bin/time
# (wall s, peak RSS), output to a file (its lines counted):
#   ls       ls @last dir0000
#   ls-R     ls @last / -R --json
#   find     find 'file0004*'          (every snapshot)
#   diff     diff @first @last
#   diff-1   diff @second-to-last @last
# No ZFS and no root needed. Progress on stderr, a Markdown report on
# stdout. The work directory (BENCH_TMPDIR, default /var/tmp) is removed
# on exit. BACKUP_BIN and FILE_LIST_SCALE_BIN pick the binaries, else both
# are built (release).
#
# Environment knobs:
#   BENCH_SIZE        small: 10,000 entries (the other defaults unchanged)
#   BENCH_ENTRIES     entries per manifest (1000000)
#   BENCH_SNAPSHOTS   snapshots (30)
#   BENCH_CHANGED     files changed between consecutive snapshots (3000)
#   BENCH_RUNS        runs per command, fastest kept (1)
#   BENCH_BASELINE_BIN  also run every command with this binary (e.g. a
#                     build of an earlier commit), on the same repository
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ ${BENCH_SIZE:-} == small ]]; then
    ENTRIES=${BENCH_ENTRIES:-10000}
else
    ENTRIES=${BENCH_ENTRIES:-1000000}
fi
SNAPSHOTS=${BENCH_SNAPSHOTS:-30}
CHANGED=${BENCH_CHANGED:-3000}
RUNS=${BENCH_RUNS:-1}
POOL=
POOL_CREATED=0
WORK=
DIFFERING=

BENCH_NAME=browse
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
    [[ -x /usr/bin/time ]] || die "needs /usr/bin/time (apt-get install time)"
    local target=${CARGO_TARGET_DIR:-$ROOT/target}
    if [[ -z ${BACKUP_BIN:-} || -z ${FILE_LIST_SCALE_BIN:-} ]]; then
        log "building backup and examples/file_list_scale (release)"
        (cd "$ROOT" && cargo build --release -q -p backup-cli --bin backup --example file_list_scale) >&2
    fi
    BACKUP=${BACKUP_BIN:-$target/release/backup}
    SCALE=${FILE_LIST_SCALE_BIN:-$target/release/examples/file_list_scale}
    [[ -x $BACKUP && -x $SCALE ]] || die "no binaries at $BACKUP and $SCALE"
    WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/bench-browse.XXXXXX")
    export BACKUP_PASSWORD=bench-passphrase BACKUP_CACHE_DIR=$WORK/cache
    export BACKUP_CONFIG=$WORK/no-config.toml BACKUP_REPOSITORY=$WORK/repo
    "$BACKUP" init >/dev/null
}

fill() {
    log "storing $SNAPSHOTS manifests of $ENTRIES entries ($CHANGED changed between snapshots)"
    local t0=$SECONDS
    "$SCALE" "$BACKUP_REPOSITORY" "$ENTRIES" "$SNAPSHOTS" "$CHANGED" >"$WORK/fill.log"
    FILL_SECONDS=$((SECONDS - t0))
    tail -1 "$WORK/fill.log" >&2
    # The catalog sync is not what is measured.
    "$BACKUP" -q list >/dev/null
}

# measure NAME ARGS...: BENCH_RUNS runs of backup ARGS (and of the
# baseline binary, if any); keeps the fastest of each.
measure() {
    local name=$1
    shift
    if [[ -n ${BENCH_BASELINE_BIN:-} ]]; then
        measure_with baseline "$BENCH_BASELINE_BIN" "$name" "$@"
    fi
    measure_with this "$BACKUP" "$name" "$@"
    if [[ -n ${BENCH_BASELINE_BIN:-} ]] && ! cmp -s "$WORK/sum-baseline" "$WORK/sum-this"; then
        log "$name: the output differs from the baseline's"
        DIFFERING+=" $name"
    fi
}

measure_with() {
    local which=$1 bin=$2 name=$3 i wall rss u s best= load
    shift 3
    for ((i = 1; i <= RUNS; i++)); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        /usr/bin/time -o "$WORK/time" -f '%e %M %U %S' "$bin" -q "$@" >"$WORK/out" 2>"$WORK/err" ||
            die "$bin $* failed: $(tail -3 "$WORK/err")"
        read -r wall rss u s <"$WORK/time"
        log "$name ($which) run $i: ${wall}s, CPU ${u}+${s}s, peak RSS $((rss / 1024)) MiB, $(wc -l <"$WORK/out") lines"
        if [[ -z $best ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN{exit !(a < b)}'; then
            best="$wall $(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}') $rss $(wc -l <"$WORK/out") $load"
        fi
    done
    sha256sum <"$WORK/out" >"$WORK/sum-$which"
    printf '| %s | %s | `backup %s` | %s |\n' "$name" "$which" "$*" "$best" >>"$WORK/rows"
}

main() {
    local load_before last first prev
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    setup
    fill
    first=bench/files@s01
    last=bench/files@s$(printf %02d "$SNAPSHOTS")
    prev=bench/files@s$(printf %02d $((SNAPSHOTS > 1 ? SNAPSHOTS - 1 : 1)))
    : >"$WORK/rows"
    measure ls ls "$last" dir0000
    measure ls-R ls "$last" / -R --json
    measure find find 'file0004*'
    measure diff diff "$first" "$last"
    measure diff-1 diff "$prev" "$last"

    echo "### browse.sh: $ENTRIES entries, $SNAPSHOTS snapshots — $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -r)"
    echo "- backup: binary $BACKUP (work tree at git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "- manifests stored in $FILL_SECONDS s; repository $(du -sb "$BACKUP_REPOSITORY" | cut -f1) bytes; last manifest $(tail -1 "$WORK/fill.log")"
    if [[ -n ${BENCH_BASELINE_BIN:-} ]]; then
        echo "- baseline binary: $BENCH_BASELINE_BIN; outputs (stdout, SHA-256) ${DIFFERING:+differ for:$DIFFERING}${DIFFERING:-identical on every row}"
    fi
    echo "- load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "Best of $RUNS (lowest wall); CPU = user + sys s; peak RSS = /usr/bin/time %M; lines = lines of output."
    echo
    echo "| row | binary | command | wall s | CPU s | peak RSS MiB | lines | load |"
    echo "|---|---|---|--:|--:|--:|--:|--:|"
    awk -F' [|] ' '{
        split($4, f, " ")
        printf "| %s | %s | %s | %.2f | %s | %.0f | %s | %s |\n", substr($1, 3), $2, $3, f[1], f[2], f[3] / 1024, f[4], f[5]
    }' "$WORK/rows"
}

main
