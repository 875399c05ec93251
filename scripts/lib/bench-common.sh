# Shared by the benchmark scripts (scripts/bench.sh, scripts/bench-remote.sh,
# scripts/bench/memory.sh): logging, retrying zfs-fuse's "busy" answers, and
# removing the throwaway pool and work directory on exit.
# Set BENCH_NAME (the log prefix), POOL, POOL_CREATED and WORK before use.

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# retry CMD...: zfs-fuse often answers "busy" right after a dataset was used.
retry() {
    local i
    for i in 1 2 3 4 5 6 7 8 9; do
        "$@" 2>/dev/null && return 0
        sleep 1
    done
    "$@" >&2
}

# Destroys $POOL if this run created it, and removes $WORK.
remove_pool_and_work() {
    if [[ $POOL_CREATED == 1 ]]; then
        log "destroying pool $POOL"
        retry zpool destroy -f "$POOL" || log "WARNING: zpool destroy -f $POOL failed"
    fi
    if [[ -n $WORK && -d $WORK ]]; then
        rm -rf "$WORK"
    fi
}
