#!/usr/bin/env bash
# Smoke test of the OpenZFS-only features the project relies on (the ones
# zfs-fuse lacks: see ARCHITECTURE.md, "Dialects differ"), with plain zfs
# commands on throwaway pools backed by sparse files in $TMPDIR.
# Run as root inside the openzfs-vm guest (run-e2e.sh --smoke), or on any
# host with OpenZFS 2.x loaded. Prints PASS/FAIL lines and "N passed, M failed";
# exits 1 if anything failed.
set -uo pipefail

[ "$(id -u)" = 0 ] || { echo "smoke.sh: must run as root" >&2; exit 2; }
command -v zfs >/dev/null || { echo "smoke.sh: no zfs command" >&2; exit 2; }

passed=0
failed=0
W=$(mktemp -d "${TMPDIR:-/tmp}/openzfs-smoke.XXXXXX")
SRC=smokesrc$$
DST=smokedst$$
KEY=$W/key
MARKER=OPENZFS-SMOKE-PLAINTEXT-MARKER

cleanup() {
    zpool destroy -f "$SRC" 2>/dev/null
    zpool destroy -f "$DST" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

# check NAME COMMAND...: runs a check function, prints PASS/FAIL with its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        printf '%s\n' "$out" | tail -n 25 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}
# Inside check functions: run and show the command, fail with a reason.
run() { echo "+ $*" >&2; "$@"; }
expect() { # expect WHAT ACTUAL WANTED
    if [ "$2" != "$3" ]; then echo "$1: got '$2', want '$3'"; return 1; fi
}
prop() { zfs get -H -p -o value "$1" "$2"; }
mnt() { zfs get -H -o value mountpoint "$1"; }
same_tree() { diff -r "$1" "$2" >/dev/null || { echo "trees differ: $1 $2"; diff -rq "$1" "$2"; return 1; }; }

t_version() {
    run zfs version || return 1
    zfs version | grep -Eq '^zfs-2\.' && zfs version | grep -Eq '^zfs-kmod-2\.'
}

t_pools() {
    truncate -s 2G "$W/src.vdev" "$W/dst.vdev" || return 1
    run zpool create -f -R "$W/mnt" -O compression=off "$SRC" "$W/src.vdev" || return 1
    run zpool create -f -R "$W/mnt" "$DST" "$W/dst.vdev" || return 1
    run zpool list -Hp -o name,size,alloc,free,health "$SRC" "$DST" || return 1
    expect health "$(zpool list -H -o health "$SRC")" ONLINE
}

t_list_p() {
    zfs create "$SRC/data" || return 1
    local out
    out=$(run zfs list -Hp -o name,used,avail,refer,guid,createtxg -r "$SRC") || return 1
    echo "$out"
    # scripted (-H: tabs, no header) and parsable (-p: exact integers)
    echo "$out" | awk -F'\t' 'NF != 6 || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ ||
        $5 !~ /^[0-9]+$/ || $6 !~ /^[0-9]+$/ { bad = 1; print "bad line: " $0 } END { exit bad }'
}

# A dataset with a few files, a marker in plain text and some random data.
fill() {
    local dir=$1 mb=$2
    mkdir -p "$dir/sub dir" &&
        for i in $(seq 1 200); do echo "$MARKER $i"; done >"$dir/marker.txt" &&
        head -c "${mb}M" /dev/urandom >"$dir/sub dir/random.bin" &&
        seq 1 200000 >"$dir/numbers.txt"
}

t_encrypted_raw_send() {
    echo "correct horse battery staple" >"$KEY"
    run zfs create -o encryption=aes-256-gcm -o keyformat=passphrase \
        -o keylocation="file://$KEY" "$SRC/enc" || return 1
    expect keystatus "$(prop keystatus "$SRC/enc")" available || return 1
    fill "$(mnt "$SRC/enc")" 8 || return 1
    run zfs snapshot "$SRC/enc@s1" || return 1
    run zfs send -w "$SRC/enc@s1" >"$W/raw.stream" || return 1
    if grep -aq "$MARKER" "$W/raw.stream"; then echo "raw stream holds plain text"; return 1; fi
    run zfs receive -u "$DST/enc" <"$W/raw.stream" || return 1
    expect "received encryption" "$(prop encryption "$DST/enc")" aes-256-gcm || return 1
    expect "received keystatus" "$(prop keystatus "$DST/enc")" unavailable || return 1
    if zfs mount "$DST/enc" 2>/dev/null; then echo "mounted without its key"; return 1; fi
    run zfs load-key -L "file://$KEY" "$DST/enc" || return 1
    expect "keystatus after load-key" "$(prop keystatus "$DST/enc")" available || return 1
    run zfs mount "$DST/enc" || return 1
    same_tree "$(mnt "$SRC/enc")" "$(mnt "$DST/enc")"
}

t_plain_stream_has_marker() {
    # The contrast for the raw-send check: an ordinary send shows the plain text.
    fill "$(mnt "$SRC/data")" 8 || return 1
    run zfs snapshot "$SRC/data@a" || return 1
    zfs send "$SRC/data@a" | grep -ac "$MARKER" >/dev/null
}

size_of_send() { zfs send -nvP "$@" | awk '$1 == "size" { print $2 }'; }

t_send_c() {
    run zfs create -o compression=lz4 "$SRC/comp" || return 1
    local m
    m=$(mnt "$SRC/comp")
    for i in $(seq 1 8); do yes "compressible line $i" | head -c 4M >"$m/text$i"; done
    run zfs snapshot "$SRC/comp@s1" || return 1
    local plain comp
    plain=$(size_of_send "$SRC/comp@s1") && comp=$(size_of_send -c "$SRC/comp@s1") || return 1
    echo "estimated stream size: plain $plain, -c $comp"
    [ "$comp" -gt 0 ] && [ $((comp * 4)) -lt "$plain" ] || { echo "-c stream not smaller"; return 1; }
    run zfs send -c "$SRC/comp@s1" >"$W/comp.stream" || return 1
    echo "actual -c stream: $(stat -c %s "$W/comp.stream") bytes"
    [ "$(stat -c %s "$W/comp.stream")" -lt $((plain / 4)) ] || return 1
    run zfs receive "$DST/comp" <"$W/comp.stream" || return 1
    same_tree "$m" "$(mnt "$DST/comp")" || return 1
    # the blocks arrive compressed: far less space referenced than data
    local refer logical
    refer=$(prop referenced "$DST/comp") && logical=$(prop logicalreferenced "$DST/comp") || return 1
    echo "received: referenced $refer, logicalreferenced $logical"
    [ $((refer * 4)) -lt "$logical" ]
}

t_send_L() {
    run zfs create -o recordsize=1M "$SRC/large" || return 1
    head -c 6M /dev/urandom >"$(mnt "$SRC/large")/big" || return 1
    run zfs snapshot "$SRC/large@s1" || return 1
    run zfs send -L "$SRC/large@s1" | run zfs receive "$DST/large" || return 1
    same_tree "$(mnt "$SRC/large")" "$(mnt "$DST/large")" || return 1
    expect "$DST feature@large_blocks" "$(zpool get -H -o value feature@large_blocks "$DST")" active
}

t_send_e() {
    run zfs create -o compression=lz4 "$SRC/small" || return 1
    local m
    m=$(mnt "$SRC/small")
    for i in $(seq 1 50); do echo "tiny file $i" >"$m/f$i"; done
    run zfs snapshot "$SRC/small@s1" || return 1
    run zfs send -e "$SRC/small@s1" | run zfs receive "$DST/small" || return 1
    same_tree "$m" "$(mnt "$DST/small")" || return 1
    expect "$DST feature@embedded_data" "$(zpool get -H -o value feature@embedded_data "$DST")" active
}

t_bookmark_incremental() {
    # data@a exists (t_plain_stream_has_marker); ship it, bookmark it, drop it.
    run zfs send "$SRC/data@a" | run zfs receive "$DST/data" || return 1
    run zfs bookmark "$SRC/data@a" "$SRC/data#a" || return 1
    run zfs list -t bookmark -Hp -o name,guid,createtxg -r "$SRC" || return 1
    expect "bookmark guid" "$(prop guid "$SRC/data#a")" "$(prop guid "$DST/data@a")" || return 1
    echo "more" >>"$(mnt "$SRC/data")/numbers.txt"
    run zfs snapshot "$SRC/data@b" || return 1
    run zfs destroy "$SRC/data@a" || return 1
    run zfs send -i "$SRC/data#a" "$SRC/data@b" | run zfs receive "$DST/data" || return 1
    same_tree "$(mnt "$SRC/data")/.zfs/snapshot/b" "$(mnt "$DST/data")"
}

t_hold() {
    run zfs hold smoke-keep "$SRC/data@b" || return 1
    run zfs holds -H "$SRC/data@b" || return 1
    zfs holds -H "$SRC/data@b" | grep -q smoke-keep || { echo "hold not listed"; return 1; }
    expect userrefs "$(prop userrefs "$SRC/data@b")" 1 || return 1
    if zfs destroy "$SRC/data@b" 2>"$W/err"; then echo "destroyed a held snapshot"; return 1; fi
    echo "destroy refused as expected: $(cat "$W/err")"
    run zfs release smoke-keep "$SRC/data@b" || return 1
    expect "userrefs after release" "$(prop userrefs "$SRC/data@b")" 0
}

t_dot_zfs_snapshot() {
    local m
    m=$(mnt "$SRC/data")
    run ls "$m/.zfs/snapshot" || return 1
    [ -d "$m/.zfs/snapshot/b" ] || { echo "b not listed"; return 1; }
    # reading automounts the snapshot, which keeps its content as the live file moves on
    local before
    before=$(wc -l <"$m/numbers.txt")
    echo "after b" >>"$m/numbers.txt"
    expect "lines in .zfs/snapshot/b" "$(wc -l <"$m/.zfs/snapshot/b/numbers.txt")" "$before" || return 1
    expect "lines in the live file" "$(wc -l <"$m/numbers.txt")" $((before + 1)) || return 1
    run ls -l "$m/.zfs/snapshot/b/" || return 1
    findmnt -rn -o TARGET,FSTYPE | grep -F "/.zfs/snapshot/b zfs"
}

t_resume_token() {
    run zfs create "$SRC/resume" || return 1
    head -c 12M /dev/urandom >"$(mnt "$SRC/resume")/big" || return 1
    run zfs snapshot "$SRC/resume@s1" || return 1
    # an interrupted transfer: only the first 3 MiB of the stream arrive
    zfs send "$SRC/resume@s1" | head -c 3M | zfs receive -s "$DST/resume" \
        && { echo "truncated receive succeeded?"; return 1; }
    local token
    token=$(zfs get -H -o value receive_resume_token "$DST/resume") || return 1
    echo "receive_resume_token: ${token:0:40}..."
    [ -n "$token" ] && [ "$token" != - ] || { echo "no resume token"; return 1; }
    run zfs send -nvP -t "$token" || return 1
    run zfs send -t "$token" | run zfs receive -s "$DST/resume" || return 1
    expect "token after resume" "$(zfs get -H -o value receive_resume_token "$DST/resume")" - || return 1
    same_tree "$(mnt "$SRC/resume")" "$(mnt "$DST/resume")"
}

echo "INFO kernel $(uname -r)"
echo "INFO $(zfs version 2>&1 | tr '\n' ' ')"
check "zfs version reports OpenZFS 2.x (userland and kmod)" t_version
check "zpool create on file vdevs" t_pools
if [ "$failed" != 0 ]; then
    echo "no pools: skipping the rest"
else
    check "zfs list -Hp gives exact integers" t_list_p
    check "native encryption (passphrase, keylocation=file://), send -w, receive without key, load-key" t_encrypted_raw_send
    check "plain send carries plain text (contrast for send -w)" t_plain_stream_has_marker
    check "send -c (compressed stream)" t_send_c
    check "send -L (large blocks)" t_send_L
    check "send -e (embedded data)" t_send_e
    check "bookmark, incremental send from a bookmark" t_bookmark_incremental
    check "hold, holds, destroy refused, release" t_hold
    check ".zfs/snapshot listing and reading" t_dot_zfs_snapshot
    check "receive -s, receive_resume_token, send -t" t_resume_token
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
