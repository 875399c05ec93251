#!/usr/bin/env bash
# scripts/bench.sh [SIZE_MIB]
#
# Benchmarks `backup send` / `backup restore` against `zfs send | restic backup
# --stdin` and `zfs send | borg create -`, in the same run, on a throwaway
# zfs-fuse pool holding two datasets of SIZE_MIB MiB each (default 1024):
#   rand: one file from /dev/urandom (incompressible)
#   logs: one file of synthetic web-server access-log lines (compressible)
#
# For each dataset it measures, each with /usr/bin/time (wall s, peak RSS):
#   raw       zfs send DS@s1 > /dev/null  (the ceiling zfs-fuse imposes)
#   ingest    full stream of DS@s1 into a fresh repository
#   dedup     full stream of DS@s2, a new snapshot of the same content (run i:
#             DS@s(i+1)), into the same repository: nothing new should be stored
#   restore   stream of DS@s1 back out to /dev/null
#   receive   stream of DS@s1 back out into `zfs receive` of a new dataset
#             (then the restored file is compared with the original, untimed)
#
# Progress goes to stderr; the results (a Markdown table and a summary) to
# stdout. See docs/BENCHMARKS.md.
#
# Environment knobs:
#   BACKUP_BIN            use this binary instead of building target/release/backup
#   BENCH_TMPDIR          where the pool file, data and repositories go (/var/tmp)
#   BENCH_RUNS            runs per measurement, the best (lowest wall) is kept (1)
#   BENCH_BORG_COMPRESSION  borg --compression (lz4, borg 1.x's default)
#   BENCH_DROP_CACHES     1: sync and drop the kernel page cache before each
#                         measurement (1; zfs-fuse's own ARC is not dropped)
#   BENCH_VERIFY          1: compare restored datasets with the source file (1)
#   BENCH_TSV             also copy the raw per-run results (TSV) to this file
set -euo pipefail

SIZE_MIB=${1:-1024}
RUNS=${BENCH_RUNS:-1}
BORG_COMPRESSION=${BENCH_BORG_COMPRESSION:-lz4}
DROP_CACHES=${BENCH_DROP_CACHES:-1}
VERIFY=${BENCH_VERIFY:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZFS_FUSE_PIDFILE=/run/zfs-test/zfs-fuse.pid

POOL=bench$$
WORK=
POOL_CREATED=0
RESULTS=
TF=

BENCH_NAME=bench
# shellcheck source-path=SCRIPTDIR source=lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"

cleanup() {
    local rc=$?
    set +e
    remove_pool_and_work
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- setup ------------------------------------------------------------------

ensure_tools() {
    local missing=()
    command -v restic >/dev/null || missing+=(restic)
    command -v borg >/dev/null || missing+=(borgbackup)
    [[ -x /usr/bin/time ]] || missing+=(time)
    command -v zfs-fuse >/dev/null || [[ -x /usr/sbin/zfs-fuse ]] || missing+=(zfs-fuse)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
    fi
}

ensure_zfs() {
    zpool list >/dev/null 2>&1 && return 0
    log "zpool list fails: starting zfs-fuse"
    mkdir -p "$(dirname "$ZFS_FUSE_PIDFILE")"
    zfs-fuse -p "$ZFS_FUSE_PIDFILE"
    local i
    for i in $(seq 100); do
        zpool list >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "zfs-fuse did not come up (zpool list still fails)"
}

build_backup() {
    if [[ -n ${BACKUP_BIN:-} ]]; then
        BACKUP=$BACKUP_BIN
    else
        log "building backup (release)"
        (cd "$ROOT" && cargo build --release -q -p backup-cli) >&2
        BACKUP=${CARGO_TARGET_DIR:-$ROOT/target}/release/backup
    fi
    [[ -x $BACKUP ]] || die "no backup binary at $BACKUP"
}

# Synthetic access-log lines (combined log format plus a few fields), seeded,
# stopped at SIZE_MIB MiB exactly.
gen_logs() {
    local out=$1 bytes=$((SIZE_MIB * 1048576))
    awk -v limit="$bytes" 'BEGIN {
        srand(20240601)
        split("GET GET GET GET GET POST POST PUT DELETE HEAD", meth, " ")
        split("/ /index.html /api/v1/items /api/v1/items/%d /api/v1/users/%d/orders /static/js/app.%x.js /static/css/site.%x.css /images/p/%d.jpg /search?q=%s /login /logout /cart/add?sku=%d /healthz /metrics", path, " ")
        split("200 200 200 200 200 200 200 304 304 301 302 400 401 403 404 404 500 502 503", code, " ")
        split("shoes shirt laptop phone+case coffee desk+lamp backpack monitor keyboard headphones", word, " ")
        ua[1] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
        ua[2] = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
        ua[3] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        ua[4] = "curl/7.88.1"
        ua[5] = "Prometheus/2.45.0"
        ua[6] = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
        t = 0; n = 0
        while (n < limit) {
            t += int(rand() * 3)
            s = t % 60; m = int(t / 60) % 60; h = int(t / 3600) % 24; d = 1 + int(t / 86400) % 28
            p = path[1 + int(rand() * 14)]
            if (p ~ /%s/) p = sprintf(p, word[1 + int(rand() * 10)])
            else if (p ~ /%/) p = sprintf(p, int(rand() * 100000))
            c = code[1 + int(rand() * 19)]
            line = sprintf("%d.%d.%d.%d - - [%02d/%s/2024:%02d:%02d:%02d +0000] \"%s %s HTTP/1.1\" %s %d \"https://shop.example.com/\" \"%s\" rt=%.3f req=%08x\n",
                10 + int(rand() * 200), int(rand() * 256), int(rand() * 256), 1 + int(rand() * 254),
                d, mon[6], h, m, s, meth[1 + int(rand() * 10)], p, c, int(rand() * 50000),
                ua[1 + int(rand() * 6)], rand() * rand() * 2, int(rand() * 4294967295))
            printf "%s", line
            n += length(line)
        }
    }' >"$out"
    truncate -s "$bytes" "$out"
}

make_data() {
    log "generating $SIZE_MIB MiB from /dev/urandom and $SIZE_MIB MiB of log lines"
    head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$WORK/rand.bin"
    gen_logs "$WORK/logs.bin"
    local pool_mib=$((SIZE_MIB * 4 + 1024))
    truncate -s "${pool_mib}M" "$WORK/pool.img"
    log "creating pool $POOL (${pool_mib} MiB sparse file in $WORK)"
    zpool create -m "$WORK/mnt" "$POOL" "$WORK/pool.img" >&2
    POOL_CREATED=1
    local ds
    for ds in rand logs; do
        zfs create "$POOL/$ds" >&2
        cp "$WORK/$ds.bin" "$WORK/mnt/$ds/data"
        sync
        zfs snapshot "$POOL/$ds@s1" >&2
    done
    log "pool ready: $(zfs list -H -o name,used,refer,compression -r "$POOL" | tr '\t\n' ' ;')"
}

setup_env() {
    export BACKUP_PASSWORD=bench-passphrase
    export BACKUP_CACHE_DIR=$WORK/backup-cache BACKUP_STATE_DIR=$WORK/backup-state
    export RESTIC_PASSWORD=bench-passphrase
    export RESTIC_CACHE_DIR=$WORK/restic-cache
    export BORG_PASSPHRASE=bench-passphrase
    export BORG_BASE_DIR=$WORK/borg-home
    export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
    unset BACKUP_REPOSITORY RESTIC_REPOSITORY BORG_REPO || true
}

# --- measuring ----------------------------------------------------------------

now() { date +%s.%N; }

# Busy CPU ticks of the whole machine (all cores), from /proc/stat.
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }

zfs_fuse_pid() {
    local pid
    if [[ -r $ZFS_FUSE_PIDFILE ]] && pid=$(<"$ZFS_FUSE_PIDFILE") && [[ -r /proc/$pid/stat ]]; then
        echo "$pid"
    else
        pidof zfs-fuse | awk '{print $1}'
    fi
}

# CPU ticks (user+system) used so far by the zfs-fuse daemon.
zfs_fuse_ticks() {
    local pid
    pid=$(zfs_fuse_pid)
    [[ -n $pid && -r /proc/$pid/stat ]] || { echo 0; return; }
    awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat"
}

repo_bytes() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }

drop_caches() {
    [[ $DROP_CACHES == 1 ]] || return 0
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}

# timed CMD... : /usr/bin/time around one process, output into $TF.
timed() { /usr/bin/time -o "$TF" -f '%e %M %U %S' "$@"; }

# measure DS TOOL OP REPO PREP RUN [ARGS...]
# Runs PREP (untimed) then RUN, BENCH_RUNS times. RUN must wrap the process
# whose memory and CPU count (the tool) in `timed`. Wall time is that of the
# whole of RUN (the pipeline), so it includes draining `zfs send`/`zfs receive`.
measure() {
    local ds=$1 tool=$2 op=$3 repo=$4 prep=$5 run=$6
    shift 6
    local i t0 t1 z0 z1 b0 b1 r0 r1 wall rss u s load
    for ((i = 1; i <= RUNS; i++)); do
        "$prep" "$@"
        drop_caches
        load=$(cut -d' ' -f1 /proc/loadavg)
        r0=$(repo_bytes "$repo")
        : >"$TF"
        z0=$(zfs_fuse_ticks); b0=$(busy_ticks); t0=$(now)
        if ! "$run" "$@"; then
            log "FAILED: $ds $tool $op (run $i): $(head -1 "$TF" 2>/dev/null)"
            echo "$ds $tool $op run $i failed: $(head -1 "$TF" 2>/dev/null) (details on stderr)" >>"$WORK/anomalies"
            printf '%s\t%s\t%s\t%s\tFAILED\t\t\t\t\t\t\n' "$ds" "$tool" "$op" "$i" >>"$RESULTS"
            continue
        fi
        t1=$(now); b1=$(busy_ticks); z1=$(zfs_fuse_ticks)
        if [[ ! -c /dev/null ]]; then
            # A restore to a device once renamed a temporary file over it.
            echo "$ds $tool $op run $i: /dev/null is no longer a character device afterwards" >>"$WORK/anomalies"
            die "/dev/null is no longer a character device after $ds $tool $op; restore it with: rm -f /dev/null && mknod -m 666 /dev/null c 1 3"
        fi
        r1=$(repo_bytes "$repo")
        read -r _ rss u s <"$TF" || die "no /usr/bin/time output for $ds $tool $op"
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
        # other = busy CPU of the machine not spent by the tool or by zfs-fuse
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$tool" "$op" "$i" "$wall" "$rss" \
            "$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')" \
            "$(awk -v a="$z0" -v b="$z1" 'BEGIN{printf "%.2f", (b-a)/100}')" \
            "$(awk -v a="$b0" -v b="$b1" -v z="$((z1 - z0))" -v u="$u" -v s="$s" \
                'BEGIN{o=(b-a-z)/100-u-s; if (o<0) o=0; printf "%.2f", o}')" \
            "$((r1 - r0))" "$load" >>"$RESULTS"
        log "$ds $tool $op run $i: ${wall}s, peak RSS $((rss / 1024)) MiB, cpu $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')s"
    done
}

noprep() { :; }

# raw zfs send
run_raw() { timed zfs send "$POOL/$1@s1" >/dev/null; }

# backup
prep_backup_init() {
    rm -rf "$WORK/repo-backup-$1"
    "$BACKUP" init --repo "$WORK/repo-backup-$1" >&2
}
run_backup_ingest() {
    timed "$BACKUP" -q send "$POOL/$1@s1" --repo "$WORK/repo-backup-$1" --json >"$WORK/backup-$1-s1.json"
}
# Dedup run i of every tool sends DS@s(i+1): a new snapshot of unchanged
# content, never a stream that tool has already stored.
DEDUP_N=1
prep_dedup() {
    DEDUP_N=$((DEDUP_N + 1))
    zfs list -H -o name "$POOL/$1@s$DEDUP_N" >/dev/null 2>&1 || zfs snapshot "$POOL/$1@s$DEDUP_N" >&2
}
run_backup_dedup() {
    timed "$BACKUP" -q send "$POOL/$1@s$DEDUP_N" --full --repo "$WORK/repo-backup-$1" --json \
        >"$WORK/backup-$1-s$DEDUP_N.json"
}
run_backup_restore() {
    timed "$BACKUP" -q restore "$POOL/$1@s1" --to-file /dev/null --repo "$WORK/repo-backup-$1"
}
prep_destroy_target() {
    if zfs list -H -o name "$POOL/$1-$2" >/dev/null 2>&1; then retry zfs destroy -r "$POOL/$1-$2"; fi
}
run_backup_receive() {
    timed "$BACKUP" -q restore "$POOL/$1@s1" --to "$POOL/$1-backup" --repo "$WORK/repo-backup-$1"
}

# restic (repository format 2 by default in restic >= 0.14: compression auto)
prep_restic_init() {
    rm -rf "$WORK/repo-restic-$1"
    restic -q init --repo "$WORK/repo-restic-$1" >&2
}
run_restic_ingest() {
    zfs send "$POOL/$1@s1" |
        timed restic -q backup --repo "$WORK/repo-restic-$1" --stdin --stdin-filename "$1.zfs" --tag s1
}
run_restic_dedup() {
    zfs send "$POOL/$1@s$DEDUP_N" |
        timed restic -q backup --repo "$WORK/repo-restic-$1" --stdin --stdin-filename "$1.zfs" --tag "s$DEDUP_N"
}
run_restic_restore() {
    timed restic -q dump --repo "$WORK/repo-restic-$1" --tag s1 latest "/$1.zfs" >/dev/null
}
run_restic_receive() {
    timed restic -q dump --repo "$WORK/repo-restic-$1" --tag s1 latest "/$1.zfs" |
        zfs receive "$POOL/$1-restic"
}

# borg (repokey encryption, compression $BORG_COMPRESSION)
prep_borg_init() {
    rm -rf "$WORK/repo-borg-$1"
    borg init --encryption=repokey "$WORK/repo-borg-$1" >"$WORK/borg-init.log" 2>&1 ||
        { cat "$WORK/borg-init.log" >&2; return 1; }
}
run_borg_ingest() {
    zfs send "$POOL/$1@s1" |
        timed borg create --compression "$BORG_COMPRESSION" --stdin-name "$1.zfs" "$WORK/repo-borg-$1::s1" -
}
run_borg_dedup() {
    zfs send "$POOL/$1@s$DEDUP_N" |
        timed borg create --compression "$BORG_COMPRESSION" --stdin-name "$1.zfs" "$WORK/repo-borg-$1::s$DEDUP_N" -
}
run_borg_restore() { timed borg extract --stdout "$WORK/repo-borg-$1::s1" >/dev/null; }
run_borg_receive() {
    timed borg extract --stdout "$WORK/repo-borg-$1::s1" | zfs receive "$POOL/$1-borg"
}

# Compares the received dataset's file with the source (if BENCH_VERIFY=1),
# then destroys the dataset either way to free the pool for the next one.
verify_received() {
    local ds=$1 tool=$2
    local f="$WORK/mnt/$ds-$tool/data"
    if [[ $VERIFY == 1 ]]; then
        if [[ ! -e $f ]]; then
            log "VERIFY FAILED: $POOL/$ds-$tool has no data file"
            echo "$ds $tool receive: restored dataset missing" >>"$WORK/anomalies"
        elif cmp -s "$f" "$WORK/$ds.bin"; then
            log "verified $POOL/$ds-$tool: data identical to the source"
        else
            log "VERIFY FAILED: $f differs from the source"
            echo "$ds $tool receive: restored data differs from the source" >>"$WORK/anomalies"
        fi
    fi
    prep_destroy_target "$ds" "$tool" || log "WARNING: could not destroy $POOL/$ds-$tool"
}

bench_dataset() {
    local ds=$1 tool
    measure "$ds" zfs raw-send - noprep run_raw "$ds"

    measure "$ds" backup ingest "$WORK/repo-backup-$ds" prep_backup_init run_backup_ingest "$ds"
    measure "$ds" restic ingest "$WORK/repo-restic-$ds" prep_restic_init run_restic_ingest "$ds"
    measure "$ds" borg ingest "$WORK/repo-borg-$ds" prep_borg_init run_borg_ingest "$ds"

    for tool in backup restic borg; do
        DEDUP_N=1
        measure "$ds" "$tool" dedup "$WORK/repo-$tool-$ds" prep_dedup "run_${tool}_dedup" "$ds"
    done

    measure "$ds" backup restore - noprep run_backup_restore "$ds"
    measure "$ds" restic restore - noprep run_restic_restore "$ds"
    measure "$ds" borg restore - noprep run_borg_restore "$ds"

    for tool in backup restic borg; do
        measure "$ds" "$tool" receive - "prep_destroy_target_$tool" "run_${tool}_receive" "$ds"
        verify_received "$ds" "$tool"
    done
}
prep_destroy_target_backup() { prep_destroy_target "$1" backup; }
prep_destroy_target_restic() { prep_destroy_target "$1" restic; }
prep_destroy_target_borg() { prep_destroy_target "$1" borg; }

# Stream length of DS@s1: from backup's JSON, else counted.
stream_bytes() {
    local ds=$1 n=
    if [[ -s $WORK/backup-$ds-s1.json ]]; then
        n=$(grep -o '"stream_len":[0-9]*' "$WORK/backup-$ds-s1.json" | cut -d: -f2 || true)
    fi
    if [[ -z $n ]]; then
        n=$(zfs send "$POOL/$ds@s1" | wc -c)
    fi
    echo "$n"
}

# --- report -------------------------------------------------------------------

report() {
    local ds bytes
    : >"$WORK/streams"
    for ds in rand logs; do
        bytes=$(stream_bytes "$ds")
        printf '%s\t%s\n' "$ds" "$bytes" >>"$WORK/streams"
    done

    echo "### Results: ${SIZE_MIB} MiB per dataset, best of $RUNS run(s)"
    echo
    echo "MB/s = stream bytes / wall seconds / 10^6. Peak RSS = /usr/bin/time %M of the tool"
    echo "(largest single process of its tree). Tool CPU = its user+sys s. zfs-fuse CPU = the"
    echo "daemon's CPU s in that interval. Other CPU = machine busy CPU s not spent by either"
    echo "(the pipe's other end, other users of the machine). Load = 1-min load average at start."
    echo "Added = growth of the repository directory."
    echo
    awk -F'\t' -v OFS='\t' '
        FNR == NR { sb[$1] = $2; next }
        $5 == "FAILED" { key = $1 SUBSEP $2 SUBSEP $3; if (!(key in best)) { best[key] = "F"; order[++n] = key }; next }
        {
            key = $1 SUBSEP $2 SUBSEP $3
            if (!(key in best)) order[++n] = key
            if (!(key in best) || best[key] == "F" || $5 + 0 < wall[key]) { best[key] = $0; wall[key] = $5 + 0 }
        }
        END {
            print "| Dataset | Operation | Tool | Wall s | MB/s | Peak RSS MiB | Tool CPU s | zfs-fuse CPU s | Other CPU s | Load | Added MiB |"
            print "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
            for (i = 1; i <= n; i++) {
                split(order[i], k, SUBSEP)
                if (best[order[i]] == "F") { printf "| %s | %s | %s | FAILED | | | | | | | |\n", k[1], k[3], k[2]; continue }
                split(best[order[i]], f, "\t")
                rate = (f[5] > 0) ? sb[f[1]] / f[5] / 1e6 : 0
                added = (f[3] ~ /ingest|dedup/) ? sprintf("%.1f", f[10] / 1048576) : "-"
                printf "| %s | %s | %s | %.2f | %.1f | %.0f | %.2f | %.2f | %.2f | %s | %s |\n",
                    f[1], f[3], f[2], f[5], rate, f[6] / 1024, f[7], f[8], f[9], f[11], added
            }
        }' "$WORK/streams" "$RESULTS"
    echo
    echo "Stream sizes (zfs send of @s1): $(awk -F'\t' '{printf "%s %.0f bytes (%.1f MB); ", $1, $2, $2/1e6}' "$WORK/streams")"
    echo
    echo "### Targets"
    echo
    awk -F'\t' '
        $5 == "FAILED" { next }
        $3 == "ingest" { k = $1 SUBSEP $2; if (!(k in w) || $5 + 0 < w[k]) w[k] = $5 + 0 }
        $2 == "backup" && $6 + 0 > maxrss { maxrss = $6 + 0; where = $1 " " $3 }
        END {
            split("rand logs", ds, " ")
            for (i = 1; i <= 2; i++) {
                b = w[ds[i] SUBSEP "backup"]; r = w[ds[i] SUBSEP "restic"]; g = w[ds[i] SUBSEP "borg"]
                if (b > 0 && r > 0)
                    printf "- %s: backup ingest is %.2fx restic'"'"'s throughput (%s: needs >= 3x), %.2fx borg'"'"'s\n",
                        ds[i], r / b, (r / b >= 3 ? "MET" : "MISSED"), (g > 0 ? g / b : 0)
                else
                    printf "- %s: ingest ratio unavailable (a run failed)\n", ds[i]
            }
            printf "- backup peak RSS, highest of all its runs: %.0f MiB (%s) (target < 300 MiB: %s)\n", maxrss / 1024, where, (maxrss / 1024 < 300 ? "MET" : "MISSED")
        }' "$RESULTS"
    echo
    echo "### backup send --json (last run of each)"
    echo
    local f
    for f in "$WORK"/backup-*-s*.json; do
        [[ -s $f ]] || continue
        echo "- $(basename "$f" .json | sed 's/^backup-//'): $(tr -d '\n' <"$f" |
            grep -o '"\(stream_len\|chunks\|new_chunks\|new_stored_bytes\|seconds\)":[0-9.]*' | tr '\n' ' ')"
    done
    if [[ -s $WORK/anomalies ]]; then
        echo
        echo "### Anomalies"
        echo
        sed 's/^/- /' "$WORK/anomalies"
    fi
}

main() {
    [[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge 16 ]] || die "usage: $0 [SIZE_MIB >= 16]"
    [[ $(id -u) == 0 ]] || die "needs root (zfs-fuse, drop_caches)"
    [[ -c /dev/null ]] || die "/dev/null is not a character device"
    local start load_before
    start=$(date +%s)
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    ensure_tools
    ensure_zfs
    build_backup
    WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/bench.XXXXXX")
    RESULTS=$WORK/results.tsv
    TF=$WORK/time.out
    : >"$RESULTS"
    setup_env
    make_data

    bench_dataset rand
    bench_dataset logs

    local rev dirty=""
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml 2>/dev/null || dirty=" (crates/ modified in the work tree)"
    echo "## bench.sh $SIZE_MIB — $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -r)"
    echo "- backup: $("$BACKUP" --version 2>/dev/null | head -1), git $rev$dirty, binary $BACKUP"
    echo "- $(restic version | head -1)"
    echo "- $(borg --version) (repokey, --compression $BORG_COMPRESSION)"
    echo "- zfs-fuse $(dpkg-query -W -f '${Version}' zfs-fuse 2>/dev/null || echo '?'), pool version $(zpool get version "$POOL" | awk 'NR == 2 {print $3}')"
    echo "- page cache dropped before each measurement: $([[ $DROP_CACHES == 1 ]] && echo yes || echo no) (zfs-fuse ARC: not dropped)"
    echo "- load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg); run took $(($(date +%s) - start)) s"
    echo
    report
    if [[ -n ${BENCH_TSV:-} ]]; then cp "$RESULTS" "$BENCH_TSV"; fi
}

main "$@"
