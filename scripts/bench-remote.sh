#!/usr/bin/env bash
# scripts/bench-remote.sh [SIZE_MIB]
#
# Ship and restore throughput of `backup` to its three kinds of repository,
# in one run, on loopback: a local directory, SFTP (a real OpenSSH sshd) and
# S3 (a real Garage 2.x), each against restic 0.14 on the same server
# (`zfs send | restic backup --stdin`, `restic dump`).
#
# On a throwaway zfs-fuse pool, one dataset holds SIZE_MIB MiB (default 512)
# of /dev/urandom data (incompressible), snapshot @s1, and @s2 of the same
# unchanged content. sshd and Garage are started on free loopback ports with
# their own keys (scripts/lib/bench-servers.sh, as tests/e2e/servers/ does)
# and stopped by pid on exit. Then, each with /usr/bin/time (wall s, peak RSS):
#
#   zfs     raw-send  zfs send DS@s1 > /dev/null   (the ceiling zfs-fuse imposes)
#   for each target in local, sftp, s3:
#   ssh     upload    (sftp only) zfs send DS@s1 piped to ssh 127.0.0.1 'cat >/dev/null'
#           download  (sftp only) ssh 127.0.0.1 'head -c LEN /dev/zero' > /dev/null
#                     (what OpenSSH alone costs on this machine, no SFTP)
#   backup  ingest    backup send DS@s1 into a fresh repository
#           dedup     backup send DS@s2 --full (nothing new should be uploaded)
#           restore   backup restore <id of @s1> --to-file - > /dev/null
#   restic  ingest    zfs send DS@s1 | restic backup --stdin (fresh repository)
#           dedup     zfs send DS@s2 | restic backup --stdin (same repository)
#           restore   restic dump --tag s1 latest /ds.zfs > /dev/null
#
# Besides wall time and peak RSS it records the CPU seconds of the tool (with
# its ssh), of its ssh client alone (a wrapper samples it), of the server
# (sshd and its sessions, or Garage), of the zfs-fuse daemon, and the rest of
# the machine's ("Other": other users of the 2 cores), and what the server's
# storage grew by.
#
# backup repositories are made with `init --kdf-memory 1024 --kdf-iterations 1`
# (BENCH_KDF=default: Argon2id's defaults, 64 MiB / 3 passes, which every
# command then pays: about 0.2 s and 64 MiB of RSS).
#
# Progress goes to stderr; the results (the command line, a Markdown table and
# notes) to stdout. See docs/BENCHMARKS.md, "Remote repositories (SFTP, S3)".
#
# Environment knobs:
#   BACKUP_BIN          use this binary instead of building one (release)
#   BENCH_BACKUP_REV    the commit BACKUP_BIN was built from, for the report
#   BENCH_TMPDIR        where the pool file, repositories and servers go (/var/tmp)
#   BENCH_KDF           cheap (default) or default: backup init's Argon2id cost
#   BENCH_DROP_CACHES   1: sync and drop the page cache before each measurement (1)
#   BENCH_VERIFY        1: restore @s1 once more from every repository, untimed,
#                       and compare its SHA-256 with zfs send's (1)
#   BENCH_RESTIC_DEDUP  1: also time restic's backup of @s2 (1)
#   BENCH_TRANSFERS     e.g. "1 2 8 16": also ship into fresh sftp and s3
#                       repositories with --transfers N, and restore with it
#                       (empty: no sweep; the main rows use the defaults, 4 for
#                       SFTP and 8 for S3)
#   BENCH_TARGETS       which targets, in order ("local sftp s3")
#   BENCH_TSV           also copy the raw per-measurement results (TSV) here
set -euo pipefail

SIZE_MIB=${1:-512}
KDF=${BENCH_KDF:-cheap}
DROP_CACHES=${BENCH_DROP_CACHES:-1}
VERIFY=${BENCH_VERIFY:-1}
RESTIC_DEDUP=${BENCH_RESTIC_DEDUP:-1}
TRANSFERS_SWEEP=${BENCH_TRANSFERS:-}
TARGETS=${BENCH_TARGETS:-local sftp s3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND_LINE="$(for v in BACKUP_BIN BENCH_BACKUP_REV BENCH_TARGETS BENCH_TMPDIR BENCH_KDF BENCH_DROP_CACHES BENCH_VERIFY BENCH_RESTIC_DEDUP BENCH_TRANSFERS BENCH_TSV CARGO_TARGET_DIR; do
    if [[ -n ${!v:-} ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)scripts/bench-remote.sh $*"

# shellcheck source=lib/zfs.sh
source "$ROOT/scripts/lib/zfs.sh"
# shellcheck source=lib/garage.sh
source "$ROOT/scripts/lib/garage.sh"
# shellcheck source=lib/bench-servers.sh
source "$ROOT/scripts/lib/bench-servers.sh"

POOL=benchr$$
DS=
WORK=
POOL_CREATED=0
RESULTS=
TF=
CFG=
STREAM_BYTES=
STREAM_SHA=

BENCH_NAME=bench-remote
# shellcheck source=lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"

cleanup() {
    local rc=$?
    set +e
    stop_servers
    remove_pool_and_work
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- setup ------------------------------------------------------------------

ensure_tools() {
    # openssh-server for /usr/sbin/sshd only: if it is installed here, the
    # system service the package starts is stopped and disabled again (as
    # scripts/test.sh does); the benchmark runs its own sshd.
    if ! dpkg -s openssh-server >/dev/null 2>&1; then
        apt_install openssh-server
        if [[ -d /run/systemd/system ]]; then
            systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
        elif [[ -x /etc/init.d/ssh ]]; then
            /etc/init.d/ssh stop >/dev/null 2>&1 || true
            update-rc.d ssh disable >/dev/null 2>&1 || true
        fi
    fi
    apt_install restic time openssh-client curl jq
    [[ -x /usr/bin/time ]] || die "/usr/bin/time is missing"
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

make_data() {
    local pool_mib=$((SIZE_MIB * 2 + 512))
    truncate -s "${pool_mib}M" "$WORK/pool.img"
    log "creating pool $POOL (${pool_mib} MiB sparse file in $WORK)"
    zpool create -m "$WORK/mnt" "$POOL" "$WORK/pool.img" >&2
    POOL_CREATED=1
    DS=$POOL/ds
    zfs create "$DS" >&2
    log "writing $SIZE_MIB MiB from /dev/urandom into $DS"
    dd if=/dev/urandom of="$WORK/mnt/ds/data" bs=1M count="$SIZE_MIB" status=none
    sync
    zfs snapshot "$DS@s1" >&2
    zfs snapshot "$DS@s2" >&2
    log "counting and hashing the stream of $DS@s1 (untimed)"
    STREAM_BYTES=$(zfs send "$DS@s1" | wc -c)
    STREAM_SHA=$(zfs send "$DS@s1" | sha256sum | cut -d' ' -f1)
    log "pool ready: $(zfs list -H -o name,used,refer -r "$POOL" | tr '\t\n' ' ;') stream $STREAM_BYTES bytes"
}

start_servers() {
    ensure_garage
    start_sshd "$WORK/sshd" || die "sshd did not start"
    start_garage "$WORK/garage" || die "garage did not start"
}

# One backup configuration naming the three repositories (and, for a
# --transfers sweep, one fresh sftp and s3 repository per N).
write_config() {
    local pass=$WORK/backup-pass secret=$WORK/s3.secret n
    echo bench-passphrase >"$pass"
    echo "$GARAGE_SECRET" >"$secret"
    chmod 600 "$pass" "$secret"
    # Both tools run ssh through this wrapper: it execs ssh (same pid, so the
    # tool manages it as usual) and leaves a watcher sampling that pid's CPU
    # ticks every 0.1 s; when ssh is gone the watcher appends "TICKS ORPHANED"
    # to $WORK/ssh.cpu (ORPHANED 1: ssh outlived its parent, so the tool's
    # /usr/bin/time figure does not include it). The CPU of ssh's last 0.1 s
    # can be missed.
    SSH_TIMED=$WORK/ssh-timed
    cat >"$SSH_TIMED" <<EOF
#!/bin/bash
me=\$\$ parent=\$PPID
(
    last=0 orphan=0
    while read -r -a f 2>/dev/null </proc/\$me/stat; do
        [[ \${f[3]} == "\$parent" ]] || orphan=1
        last=\$((f[13] + f[14]))
        [[ \${f[2]} == Z ]] && break
        sleep 0.1
    done
    echo "\$last \$orphan" >>"$WORK/ssh.cpu"
) </dev/null >/dev/null 2>&1 &
exec /usr/bin/ssh "\$@"
EOF
    chmod +x "$SSH_TIMED"
    CFG=$WORK/backup.toml
    {
        echo "# Written by scripts/bench-remote.sh"
        echo "state_dir = \"$WORK/state\""
        echo
        echo "[repositories.local]"
        echo "location = \"$WORK/local/backup\""
        echo "password_file = \"$pass\""
        for n in "" $TRANSFERS_SWEEP; do
            echo
            echo "[repositories.sftp${n:+-t$n}]"
            echo "location = \"sftp://root@127.0.0.1:$SSHD_PORT/$SSHD_REMOTE/backup${n:+-t$n}\""
            echo "password_file = \"$pass\""
            echo "[repositories.sftp${n:+-t$n}.sftp]"
            echo "ssh_command = \"$SSH_TIMED\""
            echo "identity_file = \"$SSHD_IDENTITY\""
            echo "known_hosts_file = \"$SSHD_KNOWN_HOSTS\""
            echo
            echo "[repositories.s3${n:+-t$n}]"
            echo "location = \"s3://$GARAGE_BUCKET/backup${n:+-t$n}\""
            echo "password_file = \"$pass\""
            echo "[repositories.s3${n:+-t$n}.s3]"
            echo "endpoint = \"$GARAGE_ENDPOINT\""
            echo "region = \"$GARAGE_REGION\""
            echo "access_key_id = \"$GARAGE_KEY_ID\""
            echo "secret_access_key_file = \"$secret\""
        done
    } >"$CFG"
    mkdir -p "$WORK/local"
    "$BACKUP" --config "$CFG" config check --offline >&2 || die "backup config check --offline fails on $CFG"
}

setup_env() {
    export BACKUP_CACHE_DIR=$WORK/backup-cache BACKUP_STATE_DIR=$WORK/backup-state
    export RESTIC_PASSWORD=bench-passphrase
    export RESTIC_CACHE_DIR=$WORK/restic-cache
    unset BACKUP_REPOSITORY BACKUP_PASSWORD BACKUP_PASSWORD_FILE BACKUP_PASSWORD_COMMAND \
        BACKUP_TRANSFERS BACKUP_LIMIT_UPLOAD BACKUP_LIMIT_DOWNLOAD BACKUP_CONFIG \
        RESTIC_REPOSITORY RESTIC_PASSWORD_FILE AWS_PROFILE AWS_SESSION_TOKEN || true
}

# --- the tools ----------------------------------------------------------------

b() { "$BACKUP" --config "$CFG" -q "$@"; }

KDF_ARGS=()
[[ $KDF == default ]] || KDF_ARGS=(--kdf-memory 1024 --kdf-iterations 1)

# restic_cmd TARGET: RCMD=(the restic command line for TARGET's repository),
# credentials for S3 passed by `env` (which execs restic: the same process).
restic_cmd() {
    case $1 in
        local) RCMD=(restic -q -r "$WORK/local/restic") ;;
        sftp) RCMD=(restic -q -r "sftp:root@127.0.0.1:$SSHD_REMOTE/restic"
            -o "sftp.command=$SSH_TIMED -F $SSHD_CONFIG 127.0.0.1 -s sftp") ;;
        s3) RCMD=(env AWS_ACCESS_KEY_ID="$GARAGE_KEY_ID" AWS_SECRET_ACCESS_KEY="$GARAGE_SECRET"
            AWS_DEFAULT_REGION="$GARAGE_REGION" AWS_REGION="$GARAGE_REGION"
            restic -q -r "s3:$GARAGE_ENDPOINT/$GARAGE_BUCKET/restic") ;;
        *) die "no restic repository for $1" ;;
    esac
}
r() { local RCMD; restic_cmd "$1"; shift; "${RCMD[@]}" "$@"; }
timed_r() { local RCMD; restic_cmd "$1"; shift; timed "${RCMD[@]}" "$@"; }

# The timed tool is wrapped in `timed` (GNU time into $TF); for a pipeline the
# wall clock of the whole pipeline is kept.
timed() { /usr/bin/time -o "$TF" -f '%e %M %U %S' "$@"; }

# REPO names a backup repository of the configuration (local, sftp, s3, sftp-t8, ...)
prep_backup_init() { b init --repo "$1" "${KDF_ARGS[@]}" >&2; }
run_backup_ingest() { timed "$BACKUP" --config "$CFG" -q send "$DS@s1" --repo "$1" --json >"$WORK/$1-s1.json"; }
run_backup_dedup() { timed "$BACKUP" --config "$CFG" -q send "$DS@s2" --full --repo "$1" --json >"$WORK/$1-s2.json"; }
backup_id() { grep -o '"id":"[0-9a-f]*"' "$WORK/$1-s1.json" | cut -d'"' -f4; }
run_backup_restore() {
    local id
    id=$(backup_id "$1")
    [[ -n $id ]] || { echo "no id for $1 (its send failed)" >"$TF"; return 1; }
    timed "$BACKUP" --config "$CFG" -q restore "$id" --repo "$1" --to-file - >/dev/null
}
# With --transfers N (the repository named REPO-tN).
run_backup_ingest_t() { timed "$BACKUP" --config "$CFG" -q send "$DS@s1" --repo "$1-t$2" --transfers "$2" --json >"$WORK/$1-t$2-s1.json"; }
run_backup_restore_t() {
    local id
    id=$(backup_id "$1-t$2")
    [[ -n $id ]] || { echo "no id for $1-t$2 (its send failed)" >"$TF"; return 1; }
    timed "$BACKUP" --config "$CFG" -q restore "$id" --repo "$1-t$2" --transfers "$2" --to-file - >/dev/null
}
prep_backup_init_t() { b init --repo "$1-t$2" "${KDF_ARGS[@]}" >&2; }

prep_restic_init() { r "$1" init >&2; }
run_restic_ingest() { zfs send "$DS@s1" | timed_r "$1" backup --stdin --stdin-filename ds.zfs --tag s1; }
run_restic_dedup() { zfs send "$DS@s2" | timed_r "$1" backup --stdin --stdin-filename ds.zfs --tag s2; }
run_restic_restore() { timed_r "$1" dump --tag s1 latest /ds.zfs >/dev/null; }

run_raw() { timed zfs send "$DS@s1" >/dev/null; }
# The stream through plain ssh (no SFTP, no repository), both directions.
run_ssh_up() { zfs send "$DS@s1" | timed "$SSH_TIMED" -F "$SSHD_CONFIG" 127.0.0.1 'cat >/dev/null'; }
run_ssh_down() { timed "$SSH_TIMED" -F "$SSHD_CONFIG" 127.0.0.1 "head -c $STREAM_BYTES /dev/zero" >/dev/null; }
noprep() { :; }

# --- measuring ----------------------------------------------------------------

now() { date +%s.%N; }
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
zfs_fuse_ticks() {
    local pid
    pid=$(cat /run/zfs-test/zfs-fuse.pid 2>/dev/null || true)
    [[ -n $pid && -r /proc/$pid/stat ]] || pid=$(pidof zfs-fuse | awk '{print $1}')
    [[ -n $pid && -r /proc/$pid/stat ]] || { echo 0; return; }
    awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat"
}
server_of() { case $1 in sftp*) echo sshd ;; s3*) echo garage ;; *) echo none ;; esac; }

# What a target's repositories occupy on the server side (S3: all of Garage's
# data and metadata, shared by both tools).
stored_bytes() {
    local target=$1 tool=$2 path
    case $target in
        local) path=$WORK/local/$tool ;;
        sftp*) path=$SSHD_REMOTE ;;
        s3*) path=$WORK/garage ;;
        *) echo 0; return ;;
    esac
    if [[ -e $path ]]; then du -sb "$path" | cut -f1; else echo 0; fi
}

drop_caches() {
    [[ $DROP_CACHES == 1 ]] || return 0
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}

# settle SERVER: wait (up to 20 s) until the server's CPU use has stopped
# (Garage finishes some work after answering), so it is not counted against
# the next measurement.
settle() {
    local srv=$1 a b i
    [[ $srv == none ]] && return 0
    [[ $srv == sshd ]] && sshd_wait_idle
    for ((i = 0; i < 40; i++)); do
        a=$(server_cpu_ticks "$srv"); sleep 0.5; b=$(server_cpu_ticks "$srv")
        ((b - a <= 2)) && return 0
    done
    log "WARNING: $srv still busy after 20 s"
}

# ssh_cpu: "ALL ORPHANED": the ssh client CPU seconds the watchers have
# recorded so far, all and those of orphaned ssh processes, once every
# wrapped ssh has ended (up to 10 s).
ssh_cpu() {
    local i
    for ((i = 0; i < 100; i++)); do
        ps -e -o args= | awk -v w="$SSH_TIMED" 'index($0, "/bin/bash " w) == 1 { f = 1 } END { exit !f }' || break
        sleep 0.1
    done
    [[ -s $WORK/ssh.cpu ]] || { echo "0 0"; return; }
    awk 'NF == 2 { t += $1; if ($2 == 1) o += $1 } END { printf "%.2f %.2f", t / 100, o / 100 }' "$WORK/ssh.cpu"
}

# measure TARGET TOOL OP PREP RUN [ARGS...]: PREP untimed, then RUN (which
# wraps the tool in `timed`). One TSV line into $RESULTS:
# target tool op wall rss_kib tool_cpu server_cpu zfs_cpu other_cpu added_bytes load ssh_cpu
measure() {
    local target=$1 tool=$2 op=$3 prep=$4 run=$5
    shift 5
    local srv t0 t1 z0 z1 b0 b1 s0 s1 r0 r1 wall rss u s load c0 c1
    srv=$(server_of "$target")
    "$prep" "$@"
    settle "$srv"
    c0=$(ssh_cpu)
    drop_caches
    load=$(cut -d' ' -f1 /proc/loadavg)
    r0=$(stored_bytes "$target" "$tool")
    : >"$TF"
    s0=$(server_cpu_ticks "$srv"); z0=$(zfs_fuse_ticks); b0=$(busy_ticks); t0=$(now)
    if ! "$run" "$@"; then
        log "FAILED: $target $tool $op: $(tail -3 "$TF" 2>/dev/null | tr '\n' ' ')"
        echo "$target $tool $op failed: $(tail -3 "$TF" 2>/dev/null | tr '\n' ' ') (details on stderr)" >>"$WORK/anomalies"
        printf '%s\t%s\t%s\tFAILED\t\t\t\t\t\t\t\t\n' "$target" "$tool" "$op" >>"$RESULTS"
        return 0
    fi
    t1=$(now)
    [[ $srv == sshd ]] && sshd_wait_idle
    b1=$(busy_ticks); z1=$(zfs_fuse_ticks); s1=$(server_cpu_ticks "$srv")
    [[ -c /dev/null ]] || die "/dev/null is no longer a character device after $target $tool $op"
    r1=$(stored_bytes "$target" "$tool")
    c1=$(ssh_cpu)
    read -r _ rss u s <"$TF" || die "no /usr/bin/time output for $target $tool $op"
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
    # Tool CPU: the tool's tree as /usr/bin/time saw it, plus any ssh it left
    # behind (orphaned, so not in its figure). Other: the rest of the machine.
    local tool_cpu ssh_all
    read -r tool_cpu ssh_all < <(awk -v u="$u" -v s="$s" -v c0="$c0" -v c1="$c1" 'BEGIN {
        split(c0, a, " "); split(c1, b, " ")
        printf "%.2f %.2f\n", u + s + (b[2] - a[2]), b[1] - a[1] }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$tool" "$op" "$wall" "$rss" \
        "$tool_cpu" \
        "$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", (b-a)/100}')" \
        "$(awk -v a="$z0" -v b="$z1" 'BEGIN{printf "%.2f", (b-a)/100}')" \
        "$(awk -v a="$b0" -v b="$b1" -v z="$((z1 - z0))" -v sv="$((s1 - s0))" -v t="$tool_cpu" \
            'BEGIN{o=(b-a-z-sv)/100-t; if (o<0) o=0; printf "%.2f", o}')" \
        "$((r1 - r0))" "$load" "$ssh_all" >>"$RESULTS"
    log "$target $tool $op: ${wall}s, $(awk -v w="$wall" -v n="$STREAM_BYTES" 'BEGIN{printf "%.1f", n/w/1e6}') MB/s, peak RSS $((rss / 1024)) MiB, cpu ${tool_cpu}s (ssh ${ssh_all}s), server cpu $(awk -v a="$s0" -v b="$s1" 'BEGIN{print (b-a)/100}')s"
}

# verify TARGET TOOL: restore @s1 once more (untimed) and compare its SHA-256
# with zfs send's.
verify() {
    local target=$1 tool=$2 sha id
    [[ $VERIFY == 1 ]] || return 0
    case $tool in
        backup)
            id=$(backup_id "$target")
            [[ -n $id ]] || return 0
            sha=$(b restore "$id" --repo "$target" --to-file - | sha256sum | cut -d' ' -f1) ;;
        restic) sha=$(r "$target" dump --tag s1 latest /ds.zfs | sha256sum | cut -d' ' -f1) ;;
    esac
    if [[ $sha == "$STREAM_SHA" ]]; then
        log "verified: $target $tool restores @s1's stream byte for byte"
        echo "$target $tool" >>"$WORK/verified"
    else
        log "VERIFY FAILED: $target $tool restored a stream with SHA-256 $sha, not $STREAM_SHA"
        echo "$target $tool: the restored stream differs from zfs send's (SHA-256 $sha, expected $STREAM_SHA)" >>"$WORK/anomalies"
    fi
}

bench_target() {
    local t=$1 n
    log "=== $t ==="
    if [[ $t == sftp ]]; then
        measure sftp ssh "upload: ssh cat" noprep run_ssh_up
        measure sftp ssh "download: ssh head" noprep run_ssh_down
    fi
    measure "$t" backup ingest prep_backup_init run_backup_ingest "$t"
    measure "$t" backup dedup noprep run_backup_dedup "$t"
    measure "$t" backup restore noprep run_backup_restore "$t"
    measure "$t" restic ingest prep_restic_init run_restic_ingest "$t"
    if [[ $RESTIC_DEDUP == 1 ]]; then
        measure "$t" restic dedup noprep run_restic_dedup "$t"
    fi
    measure "$t" restic restore noprep run_restic_restore "$t"
    verify "$t" backup
    verify "$t" restic
    if [[ $t != local ]]; then
        for n in $TRANSFERS_SWEEP; do
            measure "$t-t$n" backup "ingest --transfers $n" prep_backup_init_t run_backup_ingest_t "$t" "$n"
            measure "$t-t$n" backup "restore --transfers $n" noprep run_backup_restore_t "$t" "$n"
        done
    fi
}

# --- report -------------------------------------------------------------------

report() {
    echo "MB/s = stream bytes / wall s / 10^6. Peak RSS = /usr/bin/time %M (largest process of the tool's"
    echo "tree). Tool CPU = user+sys s of the tool and its ssh; 'of which ssh' = its ssh client alone."
    echo "Server CPU = sshd with its sessions, or Garage. zfs-fuse CPU = the daemon's (it does zfs send)."
    echo "Other CPU = the rest of the machine's busy CPU in the interval (other users: near 0 = undisturbed)."
    echo "Load = 1-min load average at the start. Added = growth of the repository's storage (S3: Garage's"
    echo "data and metadata directories)."
    echo
    echo "| Target | Tool | Operation | Wall s | MB/s | Peak RSS MiB | Tool CPU s | of which ssh | Server CPU s | zfs-fuse CPU s | Other CPU s | Load | Added MiB |"
    echo "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    awk -F'\t' -v n="$STREAM_BYTES" '
        $4 == "FAILED" { printf "| %s | %s | %s | FAILED | | | | | | | | | |\n", $1, $2, $3; next }
        {
            added = ($3 ~ /ingest|dedup/) ? sprintf("%.1f", $10 / 1048576) : "-"
            srv = ($1 ~ /^(sftp|s3)/) ? sprintf("%.2f", $7) : "-"
            sshc = ($1 ~ /^sftp/) ? sprintf("%.2f", $12) : "-"
            printf "| %s | %s | %s | %.2f | %.1f | %.0f | %.2f | %s | %s | %.2f | %.2f | %s | %s |\n",
                $1, $2, $3, $4, ($4 > 0 ? n / $4 / 1e6 : 0), $5 / 1024, $6, sshc, srv, $8, $9, $11, added
        }' "$RESULTS"
    echo
    echo "Stream of @s1: $STREAM_BYTES bytes ($(awk -v n="$STREAM_BYTES" 'BEGIN{printf "%.1f", n/1e6}') MB); MB/s = that / wall s / 10^6 for every row."
    echo
    echo "### backup send --json"
    echo
    echo "(The file manifest is walked after the stream is stored: on zfs-fuse it reads every file of the"
    echo "snapshot again, through a temporary clone; its time is part of the ingest and dedup rows.)"
    echo
    local f
    for f in "$WORK"/*-s[12].json; do
        [[ -s $f ]] || continue
        echo "- $(basename "$f" .json): $(jq -r '"stream \(.stream_len) bytes, \(.chunks) chunks, \(.new_chunks) new, \(.new_stored_bytes) bytes stored, \(.seconds * 100 | round / 100) s in all, of which the file manifest \(if .file_manifest then (.file_manifest.seconds * 100 | round / 100 | tostring) + " s" else "none" end)"' "$f")"
    done
    if [[ -s $WORK/verified ]]; then
        echo
        echo "Verified (untimed second restore, SHA-256 equal to zfs send's): $(tr '\n' ',' <"$WORK/verified" | sed 's/,$//; s/,/, /g')."
    fi
    if [[ -s $WORK/anomalies ]]; then
        echo
        echo "### Anomalies"
        echo
        sed 's/^/- /' "$WORK/anomalies"
    fi
}

main() {
    [[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge 16 ]] || die "usage: $0 [SIZE_MIB >= 16]"
    [[ $KDF == cheap || $KDF == default ]] || die "BENCH_KDF must be cheap or default"
    local t
    for t in $TARGETS; do
        [[ $t == local || $t == sftp || $t == s3 ]] || die "BENCH_TARGETS: unknown target $t (local, sftp, s3)"
    done
    need_root
    [[ -c /dev/null ]] || die "/dev/null is not a character device"
    local start load_before
    start=$(date +%s)
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    ensure_tools
    ensure_zfs
    build_backup
    WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/bench-remote.XXXXXX")
    RESULTS=$WORK/results.tsv
    TF=$WORK/time.out
    : >"$RESULTS"
    setup_env
    make_data
    start_servers
    write_config

    measure - zfs raw-send noprep run_raw
    for t in $TARGETS; do
        bench_target "$t"
    done

    local rev dirty=""
    if [[ -n ${BACKUP_BIN:-} ]]; then
        rev="${BENCH_BACKUP_REV:-unknown} (BACKUP_BIN)"
    else
        rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
        git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || dirty=" (crates/ modified in the work tree)"
    fi
    echo "## bench-remote.sh $SIZE_MIB — $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo
    echo "Command: \`$COMMAND_LINE\`"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -r)"
    echo "- backup: $("$BACKUP" --version 2>/dev/null | head -1), git $rev$dirty, binary $BACKUP; init $( [[ $KDF == default ]] && echo 'with the default Argon2id cost' || echo '--kdf-memory 1024 --kdf-iterations 1')"
    echo "- $(restic version | head -1)"
    echo "- $(/usr/sbin/sshd -V 2>&1 | head -1 || true), cipher $(ssh -F "$SSHD_CONFIG" -v 127.0.0.1 true 2>&1 | grep -o 'client->server cipher: [^ ]*' | head -1 | cut -d' ' -f3)"
    echo "- $("$GARAGE_BIN" --version | head -1) (sqlite metadata, replication 1, default block size and compression)"
    echo "- zfs-fuse $(dpkg-query -W -f '${Version}' zfs-fuse 2>/dev/null || echo '?')"
    echo "- page cache dropped before each measurement: $([[ $DROP_CACHES == 1 ]] && echo yes || echo no)"
    echo "- load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg); run took $(($(date +%s) - start)) s"
    echo
    report
    if [[ -n ${BENCH_TSV:-} ]]; then cp "$RESULTS" "$BENCH_TSV"; fi
}

main "$@"
