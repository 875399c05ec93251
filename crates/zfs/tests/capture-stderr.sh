#!/usr/bin/env bash
# Re-captures the zfs stderr texts that crates/zfs/src/classify/tests/ uses
# as fixtures, on whatever ZFS this machine has (zfs-fuse 0.7 here, OpenZFS
# in the openzfs-vm lane). Prints each command, its stderr and exit status.
#
# Usage (as root): crates/zfs/tests/capture-stderr.sh
# Makes its own pool on a sparse file in a temporary directory and destroys
# it at the end; touches no other pool.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/zbt-capture.XXXXXX")
P=zbtcap$$
M=$dir/mnt
cleanup() { zpool destroy -f "$P" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT

# stderr only, first 8 lines (some errors append the whole usage text)
run() { echo "\$ $*"; "$@" 2>&1 >/dev/null | head -8; echo "rc=${PIPESTATUS[0]}"; echo; }
runi() {
    f=$1; shift
    echo "\$ $* < $(basename "$f")"; "$@" <"$f" 2>&1 >/dev/null | head -8; echo "rc=${PIPESTATUS[0]}"; echo
}

echo "== zfs version / zpool upgrade -v (head)"
zfs version 2>&1 | head -3
zpool upgrade -v 2>&1 | head -3
echo

truncate -s 1G "$dir/disk"
zpool create -m "$M" "$P" "$dir/disk" || exit 1

zfs create "$P/with space"
for i in 1 2 3; do
    echo "file $i" >"$M/with space/f$i"
    zfs snapshot "$P/with space@s$i"
done
zfs send "$P/with space@s1" >"$dir/full1"
zfs send -i @s1 "$P/with space@s2" >"$dir/inc12"
zfs send -i @s2 "$P/with space@s3" >"$dir/inc23"

run zfs list -H -t snapshot -o name -d 1 "$P/nope"
run zfs get -Hp -o name,property,value guid "$P/with space@nope"
run zfs snapshot "$P/with space@s1"
run zfs snapshot "$P/nope@x"
run zfs create "$P/with space"
run zfs send "$P/with space@nope"
run zfs send -i "$P/with space@nope" "$P/with space@s2"
run zfs send -i "$P/with space@s3" "$P/with space@s1"
run zfs destroy "$P/with space@nope"

runi "$dir/full1" zfs receive -u "$P/recv one"
runi "$dir/inc23" zfs receive -u "$P/recv one"
runi "$dir/full1" zfs receive -u "$P/recv one"
runi "$dir/inc12" zfs receive -u "$P/recv one"
runi "$dir/full1" zfs receive -F -u "$P/recv one"
echo x >"$M/recv one/modified" 2>/dev/null || { zfs mount "$P/recv one"; echo x >"$M/recv one/modified"; }
runi "$dir/inc23" zfs receive "$P/recv one"
runi "$dir/inc12" zfs receive "$P/recv two"
runi "$dir/full1" zfs receive "$P/nope/deeper/x"
head -c 5000 "$dir/full1" >"$dir/trunc"
runi "$dir/trunc" zfs receive "$P/trunc"
echo garbage >"$dir/garbage"
runi "$dir/garbage" zfs receive "$P/garb"

zfs create -p "$P/a/b/c"
zfs snapshot -r "$P/a@r1"
run zfs destroy "$P/a"
zfs clone "$P/with space@s1" "$P/clone"
run zfs destroy "$P/with space@s1"
zfs hold mytag "$P/with space@s2" && run zfs destroy "$P/with space@s2"
zfs release mytag "$P/with space@s2" 2>/dev/null
run zfs get -Hp -o value nosuchprop "$P/a"
run zfs unmount "$P/a/b/c"
run zfs unmount "$P/a/b/c"
echo "== zfs list -Hp -t snapshot -o name,guid,createtxg,creation -d 1 '$P/with space'"
zfs list -Hp -t snapshot -o name,guid,createtxg,creation -d 1 "$P/with space" 2>&1 | head -3
