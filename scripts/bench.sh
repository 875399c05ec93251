#!/usr/bin/env bash
# scripts/bench.sh [SIZE_MIB]
#
# Benchmarks `backup send` / `backup restore` / `backup check` against
# `zfs send | restic backup --stdin` and `zfs send | borg create -` (and their
# restores and checks), in the same run, on a throwaway zfs-fuse pool, one
# dataset at a time (BENCH_SETS; each is made, measured, then destroyed with
# its repositories, so disk use peaks at one dataset's worth):
#   rand:   one file of SIZE_MIB MiB from /dev/urandom (incompressible)
#   logs:   one file of SIZE_MIB MiB of synthetic access-log lines (compressible)
#   vmdisk: one VM-disk-like image of SIZE_MIB MiB (seeded): runs of zeros,
#           repeated 4 KiB and 64 KiB blocks, random and text regions
#   small:  BENCH_SMALL_FILES files (50,000 from SIZE_MIB 1000 up, else SIZE_MIB x 50)
#           of 200 B-40 KiB (seeded, log-uniform sizes, 2/3 text and 1/3 random;
#           about 7.5 KiB a file on average, 370 MiB for 50,000)
#
# For each dataset it measures, each with /usr/bin/time (wall s, peak RSS):
#   raw-send  zfs send DS@s1 > /dev/null  (the ceiling zfs-fuse imposes)
#   ingest    full stream of DS@s1 into a fresh repository
#   dedup     full stream of DS@s2, a new snapshot of the same content (run i:
#             DS@s(i+1)), into the same repository: nothing new should be stored
#   restore   stream of DS@s1 back out to /dev/null
#   raw-receive  zfs send DS@s1 | zfs receive  (the ceiling of the receive rows)
#   receive   stream of DS@s1 back out into `zfs receive` of a new dataset
#             (then the restored data is compared with the original, untimed)
# then 2% of the data is rewritten, in two variants: clustered (one contiguous
# 2% region; small: 2% of the files, consecutive) and scattered (4 KiB every
# 200 KiB; small: every 50th file), and for each variant:
#   full-V     a full stream of the changed snapshot into the same repository
#              (backup send --full; restic/borg: a new backup of the full stream)
#   raw-incr-V zfs send -i BASE DS@V-inc-i > /dev/null  (the incremental's ceiling)
#   incr-V     an incremental of a further 2% change (backup send picks the
#              base; restic/borg ingest zfs send -i of the same base)
# and at the end, on each tool's repository:
#   check      backup check --read-data / restic check --read-data /
#              borg check --verify-data
# Stored bytes are the growth of the repository directory (du -sb) for all.
#
# Progress goes to stderr; the results (Markdown tables: per tool, and the
# three tools side by side with ratios, the ceiling and the command that
# reproduces the row) to stdout. See docs/BENCHMARKS.md.
#
# Environment knobs:
#   BACKUP_BIN            use this binary instead of building target/release/backup
#   BENCH_SETS            datasets to run, in order ("rand logs vmdisk small")
#   BENCH_TMPDIR          where the pool file, data and repositories go (/var/tmp)
#   BENCH_RUNS            runs per measurement, the best (lowest wall) is kept (1)
#   BENCH_CHANGE_RUNS     runs of the full-V / raw-incr-V / incr-V rows (BENCH_RUNS);
#                         each run is a fresh 2% change, as each dedup run is a
#                         fresh snapshot, so each costs disk (see the space check)
#   BENCH_SMALL_FILES     files in the small dataset (SIZE_MIB x 50, at most 50000)
#   BENCH_BORG_COMPRESSION  borg --compression (lz4, borg 1.x's default)
#   BENCH_DROP_CACHES     1: sync and drop the kernel page cache before each
#                         measurement (1; zfs-fuse's own ARC is not dropped)
#   BENCH_VERIFY          1: compare restored datasets with the source data (1)
#   BENCH_TSV             also copy the raw per-run results (TSV) to this file
set -euo pipefail

SIZE_MIB=${1:-1024}
RUNS=${BENCH_RUNS:-1}
CHANGE_RUNS=${BENCH_CHANGE_RUNS:-$RUNS}
DATA_SETS=${BENCH_SETS:-rand logs vmdisk small}
SMALL_FILES=${BENCH_SMALL_FILES:-} # default: SIZE_MIB x 50, at most 50,000 (set in main)
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
RUN=1

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
    command -v python3 >/dev/null || missing+=(python3)
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

# Seeded generators (python3, standard library only):
#   pygen vmdisk OUT BYTES SEED
#   pygen small DIR NFILES SEED SUMS     (SUMS: sha256sum-style list, sorted)
#   pygen change KIND TARGET VARIANT K SEED NFILES
# `change` rewrites 2% of TARGET (a file; for KIND small, the directory of
# NFILES files) in place: VARIANT clustered is one contiguous region (small:
# 2% of the files, consecutive), scattered 4 KiB every 200 KiB (small: every
# 50th file). K (0, 1, ...) numbers the changes of a dataset: each puts its
# region elsewhere and writes new content of the dataset's kind (rand: random;
# logs: log lines; vmdisk: random and text, 64 KiB at a time; small: each
# file's own kind, same size).
pygen() {
    python3 - "$@" <<'PY'
import hashlib, math, os, random, sys

KIB, MIB = 1024, 1 << 20
WORDS = """the of and to in is for on that with as by at from this be are or it an
was not server client request response error warning info debug user session
token cache config value true false null default timeout retry connection
database query index table row column file path directory mount disk block
volume snapshot backup restore kernel module service daemon process thread
memory buffer queue worker job schedule started stopped failed accepted closed
listening upstream downstream handshake certificate renewed expired""".split()
LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
SERVICES = ("nginx", "sshd", "systemd", "cron", "kernel", "postgres", "app", "dockerd")


def text(rng, n):
    """n bytes of syslog-like lines: every line different."""
    out, size = [], 0
    t = rng.randrange(1_700_000_000, 1_800_000_000)
    while size < n:
        t += rng.randrange(3)
        line = "%d %s %s[%d]: %s\n" % (
            t, rng.choice(LEVELS), rng.choice(SERVICES), rng.randrange(1, 65536),
            " ".join(rng.choices(WORDS, k=rng.randrange(4, 16))))
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def loguniform(rng, lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def meta_block(rng):
    """4 KiB like an inode table block: 32 records of small integers, zero padding."""
    b = bytearray(4096)
    for r in range(32):
        rec = (rng.randrange(1 << 20).to_bytes(4, "little")
               + rng.choice((0o100644, 0o100755, 0o40755)).to_bytes(4, "little")
               + rng.randrange(1000).to_bytes(4, "little")
               + rng.randrange(1 << 24).to_bytes(8, "little")
               + rng.randrange(1_600_000_000, 1_700_000_000).to_bytes(8, "little") * 3)
        b[r * 128:r * 128 + len(rec)] = rec
    return bytes(b)


def vmdisk(out, size, seed):
    rng = random.Random(seed)
    metas = [meta_block(rng) for _ in range(16)]
    lib = rng.randbytes(16 * MIB)  # 256 blocks of 64 KiB that recur
    kinds = ("zeros", "rep4k", "rep64k", "random", "text")
    weights = (35, 8, 12, 25, 20)  # shares of the bytes: every kind has the same run lengths,
    # 64 KiB to 4 MiB (to SIZE/64 for images under 256 MiB), 4 KiB-aligned
    share = dict.fromkeys(kinds, 0)
    longest = min(4 * MIB, max(128 * KIB, size // 64))  # small images still get every kind
    pos = 0
    with open(out, "wb") as f:
        while pos < size:
            kind = rng.choices(kinds, weights)[0]
            n = min(size - pos, loguniform(rng, 64 * KIB, longest) // 4096 * 4096)
            share[kind] += n
            o = rng.randrange(256) * 64 * KIB
            left = n
            while left:
                m = min(left, MIB)
                if kind == "zeros":
                    buf = bytes(m)
                elif kind == "rep4k":  # blocks drawn from 16 recurring 4 KiB blocks
                    buf = b"".join(rng.choice(metas) for _ in range(-(-m // 4096)))[:m]
                elif kind == "rep64k":  # a run of consecutive 64 KiB blocks of lib
                    buf = lib[o:o + m] if o + m <= len(lib) else lib[o:] + lib[:o + m - len(lib)]
                    o = (o + m) % len(lib)
                elif kind == "random":
                    buf = rng.randbytes(m)
                else:
                    buf = text(rng, m)
                f.write(buf)
                left -= m
            pos += n
    print("vmdisk: " + ", ".join("%s %.1f%%" % (k, 100 * v / size) for k, v in share.items()),
          file=sys.stderr)


def small_file(seed, i, version):
    meta = random.Random("%s:%d" % (seed, i))
    size = loguniform(meta, 200, 40 * KIB)
    is_text = meta.random() < 2 / 3
    rng = random.Random("%s:%d:%d" % (seed, i, version))
    data = text(rng, size) if is_text else rng.randbytes(size)
    return "d%03d/f%05d.%s" % (i // 100, i, "txt" if is_text else "bin"), data


def small(root, n, seed, sums):
    lines, total = [], 0
    for i in range(n):
        path, data = small_file(seed, i, 0)
        full = os.path.join(root, path)
        if i % 100 == 0:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        total += len(data)
        lines.append((path, "%s  ./%s\n" % (hashlib.sha256(data).hexdigest(), path)))
    lines.sort()
    with open(sums, "w") as f:
        f.writelines(l for _, l in lines)
    print("small: %d files, %d bytes" % (n, total), file=sys.stderr)


def fresh(rng, kind, n):
    if kind == "rand":
        return rng.randbytes(n)
    if kind == "logs":
        return text(rng, n)
    return b"".join(rng.randbytes(min(64 * KIB, n - o)) if rng.random() < 0.5
                    else text(rng, min(64 * KIB, n - o)) for o in range(0, n, 64 * KIB))


def change(kind, target, variant, k, seed, nfiles):
    rng = random.Random("%s:change:%s:%d" % (seed, variant, k))
    where = (k * 0.618034 + 0.13) % 1.0
    if kind == "small":
        m = max(1, nfiles // 50)
        if variant == "clustered":
            start = int(where * (nfiles - m))
            files = range(start, start + m)
        else:
            files = range(k * 13 % 50, nfiles, 50)
        total = 0
        for i in files:
            path, data = small_file(seed, i, k + 1)
            with open(os.path.join(target, path), "wb") as f:
                f.write(data)
            total += len(data)
        print("change %d (%s): %d files rewritten, %d bytes" % (k, variant, len(files), total),
              file=sys.stderr)
        return
    size = os.path.getsize(target)
    changed = writes = 0
    with open(target, "r+b") as f:
        if variant == "clustered":
            n = max(4096, size // 50 // 4096 * 4096)
            off = int(where * (size - n)) // 4096 * 4096
            f.seek(off)
            f.write(fresh(rng, kind, n))
            changed, writes = n, 1
        else:
            off = (k * 13 % 49) * 4 * KIB
            while off + 4 * KIB <= size:
                f.seek(off)
                f.write(fresh(rng, kind, 4 * KIB))
                changed += 4 * KIB
                writes += 1
                off += 200 * KIB
    print("change %d (%s): %d bytes in %d writes" % (k, variant, changed, writes), file=sys.stderr)


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "vmdisk":
    vmdisk(args[0], int(args[1]), int(args[2]))
elif cmd == "small":
    small(args[0], int(args[1]), int(args[2]), args[3])
elif cmd == "change":
    change(args[0], args[1], args[2], int(args[3]), int(args[4]), int(args[5]))
else:
    sys.exit("pygen: unknown command " + cmd)
PY
}

seed_of() {
    case $1 in
    rand) echo 20240600 ;;
    logs) echo 20240601 ;;
    vmdisk) echo 20240602 ;;
    small) echo 20240603 ;;
    esac
}

# MiB one dataset's data takes: SIZE_MIB, or for small about 9 KiB a file
# (7.5 KiB of data on average, plus its blocks' and dnode's rounding).
data_mib() {
    local s=$((SMALL_FILES * 9 / 1024))
    if [[ " $DATA_SETS " == *" small "* ]] && ((s > SIZE_MIB)); then echo "$s"; else echo "$SIZE_MIB"; fi
}

make_pool() {
    # The sparse pool file holds one dataset at a time: its data, one receive,
    # and what the change snapshots keep (a scattered change rewrites about
    # 64% of the 128 KiB records), with room to spare.
    local d pool_mib
    d=$(data_mib)
    pool_mib=$((d * (4 + 2 * CHANGE_RUNS) + 1024))
    truncate -s "${pool_mib}M" "$WORK/pool.img"
    log "creating pool $POOL (${pool_mib} MiB sparse file in $WORK)"
    zpool create -m "$WORK/mnt" "$POOL" "$WORK/pool.img" >&2
    POOL_CREATED=1
}

# Disk the run needs at its peak (the incompressible dataset, where restic
# and borg store every full stream again), in MiB: the source file, the pool
# (data, a receive, the change snapshots), backup's repository (1 + 1.7 per
# change run) and restic's and borg's (1 + 1 per dedup run + 2.7 per change
# run each).
need_mib() {
    local d
    d=$(data_mib)
    echo $((d * (600 + 200 * RUNS + 842 * CHANGE_RUNS) / 100 + 1024))
}

prepare_dataset() {
    local ds=$1 bytes=$((SIZE_MIB * 1048576))
    zfs create "$POOL/$ds" >&2
    case $ds in
    rand)
        log "generating $SIZE_MIB MiB from /dev/urandom"
        head -c "$bytes" /dev/urandom >"$WORK/rand.bin"
        ;;
    logs)
        log "generating $SIZE_MIB MiB of log lines"
        gen_logs "$WORK/logs.bin"
        ;;
    vmdisk)
        log "generating a $SIZE_MIB MiB VM-disk-like image"
        pygen vmdisk "$WORK/vmdisk.bin" "$bytes" "$(seed_of vmdisk)"
        ;;
    small)
        log "generating $SMALL_FILES small files in $POOL/small"
        pygen small "$WORK/mnt/small" "$SMALL_FILES" "$(seed_of small)" "$WORK/small.sums"
        ;;
    esac
    [[ $ds == small ]] || cp --sparse=never "$WORK/$ds.bin" "$WORK/mnt/$ds/data"
    sync
    zfs snapshot "$POOL/$ds@s1" >&2
    log "dataset ready: $(zfs list -H -o name,used,refer,compression "$POOL/$ds" | tr '\t' ' ')"
}

# The change rows' snapshots, all taken before any is measured (so every tool
# ships the same ones): for V in clustered, scattered: CHANGE_RUNS changes,
# each snapshotted as DS@V-full-i, then CHANGE_RUNS more as DS@V-inc-i.
make_changes() {
    local ds=$1 v phase i k=0 target=$WORK/mnt/$1/data
    [[ $ds == small ]] && target=$WORK/mnt/small
    for v in clustered scattered; do
        for phase in full inc; do
            for ((i = 1; i <= CHANGE_RUNS; i++)); do
                pygen change "$ds" "$target" "$v" "$k" "$(seed_of "$ds")" "$SMALL_FILES"
                k=$((k + 1))
                sync
                zfs snapshot "$POOL/$ds@$v-$phase-$i" >&2
            done
        done
    done
    log "change snapshots ready: $(zfs list -H -o name,used,refer "$POOL/$ds" | tr '\t' ' ')"
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
# Runs PREP (untimed) then RUN, $RUNS times (BENCH_RUNS, or BENCH_CHANGE_RUNS
# for the change rows), with $RUN the run's number. RUN must wrap the process
# whose memory and CPU count (the tool) in `timed`. Wall time is that of the
# whole of RUN (the pipeline), so it includes draining `zfs send`/`zfs receive`.
measure() {
    local ds=$1 tool=$2 op=$3 repo=$4 prep=$5 run=$6
    shift 6
    local i t0 t1 z0 z1 b0 b1 r0 r1 wall rss u s load
    for ((i = 1; i <= RUNS; i++)); do
        RUN=$i
        "$prep" "$@"
        drop_caches
        load=$(cut -d' ' -f1 /proc/loadavg)
        r0=$(repo_bytes "$repo")
        : >"$TF"
        z0=$(zfs_fuse_ticks); b0=$(busy_ticks); t0=$(now)
        if ! "$run" "$@"; then
            log "FAILED: $ds $tool $op (run $i): $(head -1 "$TF" 2>/dev/null)"
            echo "$ds $tool $op run $i failed: $(head -1 "$TF" 2>/dev/null) (details on stderr)" >>"$WORK/anomalies"
            printf '%s\t%s\t%s\t%s\tFAILED\t\t\t\t\t\t\t\n' "$ds" "$tool" "$op" "$i" >>"$RESULTS"
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
        # other = busy CPU of the machine not spent by the tool or by zfs-fuse;
        # columns 10 and 12: growth of the repository, its size afterwards
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$tool" "$op" "$i" "$wall" "$rss" \
            "$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')" \
            "$(awk -v a="$z0" -v b="$z1" 'BEGIN{printf "%.2f", (b-a)/100}')" \
            "$(awk -v a="$b0" -v b="$b1" -v z="$((z1 - z0))" -v u="$u" -v s="$s" \
                'BEGIN{o=(b-a-z)/100-u-s; if (o<0) o=0; printf "%.2f", o}')" \
            "$((r1 - r0))" "$load" "$r1" >>"$RESULTS"
        log "$ds $tool $op run $i: ${wall}s, peak RSS $((rss / 1024)) MiB, cpu $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')s"
    done
}

noprep() { :; }

# raw zfs send, and zfs receive of it: the ceilings
run_raw() { timed zfs send "$POOL/$1@s1" >/dev/null; }
run_zfs_receive() { zfs send "$POOL/$1@s1" | timed zfs receive "$POOL/$1-zfs"; }

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

# Compares the received dataset with the source (if BENCH_VERIFY=1): the
# file with DS.bin, or for small every file's SHA-256 with the list made when
# they were written; then destroys the dataset either way to free the pool.
verify_received() {
    local ds=$1 tool=$2
    local dir="$WORK/mnt/$ds-$tool" same=0
    if [[ $VERIFY == 1 ]]; then
        if [[ $ds == small ]]; then
            [[ -d $dir ]] && (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) |
                cmp -s - "$WORK/small.sums" && same=1
        else
            [[ -e $dir/data ]] && cmp -s "$dir/data" "$WORK/$ds.bin" && same=1
        fi
        if ((same)); then
            log "verified $POOL/$ds-$tool: data identical to the source"
        else
            log "VERIFY FAILED: $POOL/$ds-$tool is missing or differs from the source"
            echo "$ds $tool receive: restored data missing or different from the source" >>"$WORK/anomalies"
        fi
    fi
    prep_destroy_target "$ds" "$tool" || log "WARNING: could not destroy $POOL/$ds-$tool"
}
prep_destroy_target_backup() { prep_destroy_target "$1" backup; }
prep_destroy_target_restic() { prep_destroy_target "$1" restic; }
prep_destroy_target_borg() { prep_destroy_target "$1" borg; }
prep_destroy_target_zfs() { prep_destroy_target "$1" zfs; }

# --- the change rows: run i of full-V ships DS@V-full-i, of incr-V and
# raw-incr-V DS@V-inc-i from DS@V-full-$CHANGE_RUNS (i = 1) or DS@V-inc-(i-1):
# the base backup send picks (the newest snapshot it has shipped), given to
# restic and borg as `zfs send -i`.
incr_base() { if ((RUN == 1)); then echo "$1-full-$CHANGE_RUNS"; else echo "$1-inc-$((RUN - 1))"; fi; }

run_raw_incr() { timed zfs send -i "$POOL/$1@$(incr_base "$2")" "$POOL/$1@$2-inc-$RUN" >/dev/null; }

run_backup_full2() {
    timed "$BACKUP" -q send "$POOL/$1@$2-full-$RUN" --full --repo "$WORK/repo-backup-$1" --json \
        >"$WORK/backup-$1-$2-full-$RUN.json"
}
run_restic_full2() {
    zfs send "$POOL/$1@$2-full-$RUN" |
        timed restic -q backup --repo "$WORK/repo-restic-$1" --stdin --stdin-filename "$1.zfs" --tag "$2-full-$RUN"
}
run_borg_full2() {
    zfs send "$POOL/$1@$2-full-$RUN" |
        timed borg create --compression "$BORG_COMPRESSION" --stdin-name "$1.zfs" "$WORK/repo-borg-$1::$2-full-$RUN" -
}
run_backup_incr() {
    timed "$BACKUP" -q send "$POOL/$1@$2-inc-$RUN" --repo "$WORK/repo-backup-$1" --json \
        >"$WORK/backup-$1-$2-inc-$RUN.json"
}
run_restic_incr() {
    zfs send -i "$POOL/$1@$(incr_base "$2")" "$POOL/$1@$2-inc-$RUN" |
        timed restic -q backup --repo "$WORK/repo-restic-$1" --stdin --stdin-filename "$1.zfs" --tag "$2-inc-$RUN"
}
run_borg_incr() {
    zfs send -i "$POOL/$1@$(incr_base "$2")" "$POOL/$1@$2-inc-$RUN" |
        timed borg create --compression "$BORG_COMPRESSION" --stdin-name "$1.zfs" "$WORK/repo-borg-$1::$2-inc-$RUN" -
}

# Every incremental backup shipped must have had the base restic and borg got.
check_incr_bases() {
    local ds=$1 v i base got
    for v in clustered scattered; do
        for ((i = 1; i <= CHANGE_RUNS; i++)); do
            [[ -s $WORK/backup-$ds-$v-inc-$i.json ]] || continue
            base=$(RUN=$i incr_base "$v")
            got=$(grep -o '"base_snapshot":"[^"]*"' "$WORK/backup-$ds-$v-inc-$i.json" | cut -d'"' -f4 || true)
            if [[ $got != "$base" && $got != *"@$base" ]]; then
                log "WARNING: backup send $ds@$v-inc-$i used base '${got:-none}', restic and borg $base"
                echo "$ds incr-$v run $i: backup's base was '${got:-none (a full)}', restic's and borg's $base" >>"$WORK/anomalies"
            fi
        done
    done
}

# --- check --read-data (stdout to stderr: it is progress, not results)
run_backup_check() { timed "$BACKUP" -q check --read-data --repo "$WORK/repo-backup-$1" >&2; }
run_restic_check() { timed restic -q check --read-data --repo "$WORK/repo-restic-$1" >&2; }
run_borg_check() { timed borg check --verify-data "$WORK/repo-borg-$1" >&2; }

bench_dataset() {
    local ds=$1 tool
    prepare_dataset "$ds"
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

    for tool in zfs backup restic borg; do
        measure "$ds" "$tool" "$([[ $tool == zfs ]] && echo raw-receive || echo receive)" - \
            "prep_destroy_target_$tool" "run_${tool}_receive" "$ds"
        verify_received "$ds" "$tool"
    done

    make_changes "$ds"
    bench_changes "$ds"

    for tool in backup restic borg; do
        measure "$ds" "$tool" check "$WORK/repo-$tool-$ds" noprep "run_${tool}_check" "$ds"
    done

    record_streams "$ds"
    finish_dataset "$ds"
}

bench_changes() {
    local ds=$1 v tool RUNS=$CHANGE_RUNS
    for v in clustered scattered; do
        for tool in backup restic borg; do
            measure "$ds" "$tool" "full-$v" "$WORK/repo-$tool-$ds" noprep "run_${tool}_full2" "$ds" "$v"
        done
        measure "$ds" zfs "raw-incr-$v" - noprep run_raw_incr "$ds" "$v"
        for tool in backup restic borg; do
            measure "$ds" "$tool" "incr-$v" "$WORK/repo-$tool-$ds" noprep "run_${tool}_incr" "$ds" "$v"
        done
    done
    check_incr_bases "$ds"
}

# Frees the disk of a dataset done with: its repositories, source, pool dataset.
finish_dataset() {
    local ds=$1 tool
    for tool in backup restic borg; do rm -rf "$WORK/repo-$tool-$ds"; done
    rm -f "$WORK/$ds.bin"
    retry zfs destroy -r "$POOL/$ds" || log "WARNING: could not destroy $POOL/$ds"
}

# stream_len JSON ZFS_SEND_ARGS...: the stream's length, from backup send's
# JSON if there is one (and, for an incremental, backup used the same base),
# else counted.
stream_len() {
    local json=$1 n=
    shift
    if [[ -s $json ]]; then
        n=$(grep -o '"stream_len":[0-9]*' "$json" | cut -d: -f2 || true)
    fi
    [[ -n $n ]] || n=$(zfs send "$@" | wc -c)
    echo "$n"
}

# Appends DS OP RUN BYTES to $WORK/streams for every row of DS that streams
# (RUN 0: every run; the dedup runs' streams have the length of @s1's).
record_streams() {
    local ds=$1 v n op base i
    exec 3>>"$WORK/streams"
    n=$(stream_len "$WORK/backup-$ds-s1.json" "$POOL/$ds@s1")
    for op in raw-send ingest dedup restore raw-receive receive; do
        printf '%s\t%s\t0\t%s\n' "$ds" "$op" "$n" >&3
    done
    for v in clustered scattered; do
        for ((i = 1; i <= CHANGE_RUNS; i++)); do
            n=$(stream_len "$WORK/backup-$ds-$v-full-$i.json" "$POOL/$ds@$v-full-$i")
            printf '%s\t%s\t%s\t%s\n' "$ds" "full-$v" "$i" "$n" >&3
            base=$(RUN=$i incr_base "$v")
            if grep -q "\"base_snapshot\":\"\([^\"]*@\)\?$base\"" "$WORK/backup-$ds-$v-inc-$i.json" 2>/dev/null; then
                n=$(stream_len "$WORK/backup-$ds-$v-inc-$i.json")
            else
                n=$(zfs send -i "$POOL/$ds@$base" "$POOL/$ds@$v-inc-$i" | wc -c)
            fi
            printf '%s\t%s\t%s\t%s\n%s\t%s\t%s\t%s\n' "$ds" "incr-$v" "$i" "$n" "$ds" "raw-incr-$v" "$i" "$n" >&3
        done
    done
    exec 3>&-
}

# --- report -------------------------------------------------------------------

# The commands of each operation (DS: the dataset, REPO: the tool's repository;
# run i of the change rows ships DS@V-full-i / DS@V-inc-i, BASE as incr_base).
commands_table() {
    local t='zfs send DS@s1'
    cat <<EOF
| Operation | backup | restic | borg | ceiling (zfs only) |
|---|---|---|---|---|
| ingest | \`backup send DS@s1\` | \`$t \| restic backup --stdin\` | \`$t \| borg create REPO::s1 -\` | raw-send: \`$t > /dev/null\` |
| dedup | \`backup send DS@s2 --full\` | \`zfs send DS@s2 \| restic backup --stdin\` | \`zfs send DS@s2 \| borg create REPO::s2 -\` | raw-send |
| restore | \`backup restore DS@s1 --to-file /dev/null\` | \`restic dump --tag s1 latest /DS.zfs > /dev/null\` | \`borg extract --stdout REPO::s1 > /dev/null\` | |
| receive | \`backup restore DS@s1 --to DS-backup\` | \`restic dump … \| zfs receive DS-restic\` | \`borg extract --stdout … \| zfs receive DS-borg\` | raw-receive: \`$t \| zfs receive DS-zfs\` |
| full-V | \`backup send DS@V-full-i --full\` | \`zfs send DS@V-full-i \| restic backup --stdin\` | \`zfs send DS@V-full-i \| borg create REPO::V-full-i -\` | raw-send |
| incr-V | \`backup send DS@V-inc-i\` (picks BASE) | \`zfs send -i BASE DS@V-inc-i \| restic backup --stdin\` | \`zfs send -i BASE DS@V-inc-i \| borg create REPO::V-inc-i -\` | raw-incr-V: \`zfs send -i BASE DS@V-inc-i > /dev/null\` |
| check | \`backup check --read-data\` | \`restic check --read-data\` | \`borg check --verify-data\` | |
EOF
}

report() {
    local sets repro
    sets=$(cut -f1 "$WORK/streams" | awk '!seen[$0]++' | tr '\n' ' ')
    # awk: the stream of row DS OP's run RUN: sb[DS, OP, RUN], else sb[DS, OP, 0]
    repro="$(repro_env)scripts/bench.sh $SIZE_MIB"

    echo "### Results: ${SIZE_MIB} MiB per dataset (small: $SMALL_FILES files), best of $RUNS run(s), change rows best of $CHANGE_RUNS"
    echo
    echo "MB/s = stream bytes / wall seconds / 10^6 (check: repository bytes / wall s). Peak RSS ="
    echo "/usr/bin/time %M of the tool (largest single process of its tree). Tool CPU = its user+sys s."
    echo "zfs-fuse CPU = the daemon's CPU s in that interval. Other CPU = machine busy CPU s not spent"
    echo "by either (the pipe's other end, other users of the machine). Load = 1-min load average at"
    echo "start. Added = growth of the repository directory (du -sb); Repo = its size afterwards."
    echo
    awk -F'\t' '
        FNR == NR { sb[$1 SUBSEP $2 SUBSEP $3] = $4; next }
        $5 == "FAILED" { key = $1 SUBSEP $2 SUBSEP $3; if (!(key in best)) { best[key] = "F"; order[++n] = key }; next }
        {
            key = $1 SUBSEP $2 SUBSEP $3
            if (!(key in best)) order[++n] = key
            if (!(key in best) || best[key] == "F" || $5 + 0 < wall[key]) { best[key] = $0; wall[key] = $5 + 0 }
        }
        END {
            print "| Dataset | Operation | Tool | Wall s | MB/s | Peak RSS MiB | Tool CPU s | zfs-fuse CPU s | Other CPU s | Load | Added MiB | Repo MiB |"
            print "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
            for (i = 1; i <= n; i++) {
                split(order[i], k, SUBSEP)
                if (best[order[i]] == "F") { printf "| %s | %s | %s | FAILED | | | | | | | | |\n", k[1], k[3], k[2]; continue }
                split(best[order[i]], f, "\t")
                r = ((f[1] SUBSEP f[3] SUBSEP f[4]) in sb) ? f[4] : 0
                bytes = (f[3] == "check") ? f[12] : sb[f[1] SUBSEP f[3] SUBSEP r]
                rate = (f[5] > 0) ? bytes / f[5] / 1e6 : 0
                added = (f[3] ~ /^(ingest|dedup|full-|incr-)/) ? sprintf("%.1f", f[10] / 1048576) : "-"
                repo = (f[2] != "zfs" && f[3] !~ /^(restore|receive)$/) ? sprintf("%.1f", f[12] / 1048576) : "-"
                printf "| %s | %s | %s | %.2f | %.1f | %.0f | %.2f | %.2f | %.2f | %s | %s | %s |\n",
                    f[1], f[3], f[2], f[5], rate, f[6] / 1024, f[7], f[8], f[9], f[11], added, repo
            }
        }' "$WORK/streams" "$RESULTS"
    echo
    echo "Full streams (zfs send of @s1): $(awk -F'\t' '$2 == "ingest" {printf "%s %.0f bytes (%.1f MB); ", $1, $4, $4/1e6}' "$WORK/streams")"
    echo "incremental streams: $(awk -F'\t' '$2 ~ /^incr-/ {printf "%s %s run %s %.0f bytes (%.1f MB); ", $1, substr($2, 6), $3, $4, $4/1e6}' "$WORK/streams")"
    echo
    echo "### Side by side"
    echo
    echo "Wall s and stored MiB of each tool, and backup's as a ratio of restic's and borg's (below 1:"
    echo "backup is faster, or stores less). Stored = growth of the repository directory (check rows:"
    echo "the size of the repository it read). Ceiling = wall s of the zfs-only row that bounds the"
    echo "operation (raw-send, raw-incr-V, raw-receive). Peak RSS (MiB) against the stream: Stream MB"
    echo "and the three RSS columns. Reproduce: the command that runs the row (with the rest of its"
    echo "dataset's rows, in the same order)."
    echo
    awk -F'\t' -v repro="$repro" '
        FNR == NR { sb[$1 SUBSEP $2 SUBSEP $3] = $4; next }
        {
            g = $1 SUBSEP $3
            if (!(g in seen)) { seen[g] = 1; order[++n] = g }
            key = g SUBSEP $2
            if ($5 == "FAILED") { if (!(key in best)) best[key] = "F"; next }
            if (!(key in best) || best[key] == "F" || $5 + 0 < wall[key]) { best[key] = $0; wall[key] = $5 + 0 }
        }
        function ratio(a, b) { return (a != "" && a != "F" && b != "" && b != "F" && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
        function show(x, fmt) { return (x == "") ? "-" : (x == "F") ? "FAILED" : sprintf(fmt, x) }
        END {
            print "| Dataset | Operation | Stream MB | Ceiling s | backup s | restic s | borg s | ÷ restic | ÷ borg | backup MiB | restic MiB | borg MiB | ÷ restic | ÷ borg | RSS backup | RSS restic | RSS borg | Reproduce |"
            print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
            split("backup restic borg", tools, " ")
            for (i = 1; i <= n; i++) {
                split(order[i], k, SUBSEP)
                ds = k[1]; op = k[2]
                if (op ~ /^raw-/) continue
                ceil = (op ~ /^(ingest|dedup|full-)/) ? "raw-send" : (op ~ /^incr-/) ? "raw-" op : (op == "receive") ? "raw-receive" : ""
                cw = ""
                if (ceil != "" && (ds SUBSEP ceil SUBSEP "zfs") in best) {
                    cb = best[ds SUBSEP ceil SUBSEP "zfs"]
                    if (cb == "F") cw = "F"; else { split(cb, c, "\t"); cw = c[5] }
                }
                run = 0
                if (!((ds SUBSEP op SUBSEP 0) in sb)) run = 1
                for (t = 1; t <= 3; t++) {
                    w[t] = ""; st[t] = ""; rss[t] = ""
                    key = order[i] SUBSEP tools[t]
                    if (!(key in best)) continue
                    if (best[key] == "F") { w[t] = "F"; continue }
                    split(best[key], f, "\t")
                    w[t] = f[5]; rss[t] = f[6] / 1024
                    if (t == 1) run = ((ds SUBSEP op SUBSEP f[4]) in sb) ? f[4] : 0
                    if (op == "check") st[t] = f[12] / 1048576
                    else if (op ~ /^(ingest|dedup|full-|incr-)/) st[t] = f[10] / 1048576
                }
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | `BENCH_SETS=%s %s` |\n",
                    ds, op, (op == "check" ? "-" : show(sb[ds SUBSEP op SUBSEP run] / 1e6, "%.1f")), show(cw, "%.2f"),
                    show(w[1], "%.2f"), show(w[2], "%.2f"), show(w[3], "%.2f"), ratio(w[1], w[2]), ratio(w[1], w[3]),
                    show(st[1], "%.1f"), show(st[2], "%.1f"), show(st[3], "%.1f"), ratio(st[1], st[2]), ratio(st[1], st[3]),
                    show(rss[1], "%.0f"), show(rss[2], "%.0f"), show(rss[3], "%.0f"), ds, repro
            }
        }' "$WORK/streams" "$RESULTS"
    echo
    echo "Commands (DS = $POOL/<dataset>, REPO = the tool's repository, V = clustered or scattered;"
    echo "run i of a change row ships DS@V-full-i or DS@V-inc-i; BASE = DS@V-full-<last run> for"
    echo "i = 1, else DS@V-inc-(i-1)):"
    echo
    commands_table
    echo
    echo "### Targets"
    echo
    awk -F'\t' -v sets="$sets" '
        $5 == "FAILED" { next }
        $3 == "ingest" { k = $1 SUBSEP $2; if (!(k in w) || $5 + 0 < w[k]) w[k] = $5 + 0 }
        $2 == "backup" && $6 + 0 > maxrss { maxrss = $6 + 0; where = $1 " " $3 }
        END {
            m = split(sets, ds, " ")
            for (i = 1; i <= m; i++) {
                b = w[ds[i] SUBSEP "backup"]; r = w[ds[i] SUBSEP "restic"]; g = w[ds[i] SUBSEP "borg"]
                if (b > 0 && r > 0)
                    printf "- %s: backup ingest (default: file manifest on) is %.2fx restic'"'"'s throughput, %.2fx borg'"'"'s (%s: issue 16 needs >= 2x both)\n",
                        ds[i], r / b, (g > 0 ? g / b : 0), (r / b >= 2 && g / b >= 2 ? "MET" : "MISSED")
                else
                    printf "- %s: ingest ratio unavailable (a run failed)\n", ds[i]
            }
            printf "- backup peak RSS, highest of all its runs: %.0f MiB (%s) (target < 300 MiB: %s)\n", maxrss / 1024, where, (maxrss / 1024 < 300 ? "MET" : "MISSED")
        }' "$RESULTS"
    echo
    echo "### backup send --json (every run, in order)"
    echo
    python3 - "$WORK" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "backup-*.json")), key=os.path.getmtime):
    try:
        j = json.load(open(f))
    except ValueError:
        continue
    name = os.path.basename(f)[len("backup-"):-len(".json")]
    print("- %s: %s" % (name, ", ".join("%s %s" % (k, j.get(k)) for k in (
        "base_snapshot", "stream_len", "chunks", "new_chunks", "new_stored_bytes", "seconds"))))
PY
    if [[ -s $WORK/anomalies ]]; then
        echo
        echo "### Anomalies"
        echo
        sed 's/^/- /' "$WORK/anomalies"
    fi
}

# The knobs that differ from their defaults, as a command prefix.
repro_env() {
    local e=""
    [[ $RUNS == 1 ]] || e+="BENCH_RUNS=$RUNS "
    [[ $CHANGE_RUNS == "$RUNS" ]] || e+="BENCH_CHANGE_RUNS=$CHANGE_RUNS "
    [[ -z ${BENCH_SMALL_FILES:-} ]] || e+="BENCH_SMALL_FILES=$SMALL_FILES "
    [[ $BORG_COMPRESSION == lz4 ]] || e+="BENCH_BORG_COMPRESSION=$BORG_COMPRESSION "
    [[ $DROP_CACHES == 1 ]] || e+="BENCH_DROP_CACHES=$DROP_CACHES "
    printf '%s' "$e"
}

main() {
    [[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge 16 ]] || die "usage: $0 [SIZE_MIB >= 16]"
    local ds
    for ds in $DATA_SETS; do
        [[ $ds =~ ^(rand|logs|vmdisk|small)$ ]] || die "BENCH_SETS: unknown dataset '$ds' (rand logs vmdisk small)"
    done
    [[ -n ${DATA_SETS// /} ]] || die "BENCH_SETS is empty"
    [[ $RUNS =~ ^[1-9][0-9]*$ && $CHANGE_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS and BENCH_CHANGE_RUNS must be >= 1"
    [[ -n $SMALL_FILES ]] || SMALL_FILES=$((SIZE_MIB * 50 > 50000 ? 50000 : SIZE_MIB * 50))
    [[ $SMALL_FILES =~ ^[1-9][0-9]*$ && $SMALL_FILES -ge 50 ]] || die "BENCH_SMALL_FILES must be >= 50"
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
    : >"$WORK/streams"
    local need avail
    need=$(need_mib)
    avail=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
    log "disk: about $need MiB needed at the peak, $avail MiB free in $WORK"
    ((avail >= need)) || die "not enough disk in $WORK: about $need MiB needed, $avail free (fewer BENCH_SETS, BENCH_RUNS or BENCH_CHANGE_RUNS, or another BENCH_TMPDIR)"
    setup_env
    make_pool

    for ds in $DATA_SETS; do
        bench_dataset "$ds"
    done

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
