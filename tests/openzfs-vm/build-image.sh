#!/usr/bin/env bash
# Builds the guest image of the openzfs-vm lane: Debian 12 with OpenZFS from
# contrib (zfs-dkms, built for the guest kernel), a kernel and initrd beside
# it, and /sbin/backup-vm-init (guest-stub-init) as PID 1.
#
# Two variants, each its own image: --zfs stable (Debian 12's OpenZFS,
# 2.1.x, from contrib; the default) and --zfs backports (bookworm-backports'
# OpenZFS, 2.3.x, the newest Debian packages for Debian 12).
#
# Cached in $BACKUP_VM_CACHE (default /var/cache/backup-openzfs-vm) under
# image-<variant>-<key>, where <key> is a digest of the variant, this file and
# guest-stub-init, comment lines left out: an image is rebuilt only when its
# recipe changes (or with --force). The build happens in a temporary
# directory renamed into place at the end, under a lock, so an interrupted or
# concurrent build never leaves a half image.
#
# Usage: build-image.sh [--force] [--zfs stable|backports]
#        prints the image directory on stdout
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

force=0
while [ $# -gt 0 ]; do
    case $1 in
        --force) force=1; shift ;;
        --zfs) set_vm_zfs "$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (usage: build-image.sh [--force] [--zfs stable|backports])" ;;
    esac
done

# ---- the recipe ---------------------------------------------------------
SUITE=bookworm
MIRROR=${BACKUP_VM_MIRROR:-http://deb.debian.org/debian}
BASE_PKGS=linux-image-amd64,linux-headers-amd64,systemd-sysv,udev,kmod,dkms,build-essential
ZFS_PKGS=(zfs-dkms zfsutils-linux)
SOURCES="deb $MIRROR $SUITE main contrib"
ZFS_FROM=()
if [ "$VM_ZFS" = backports ]; then
    SOURCES+=$'\n'"deb $MIRROR $SUITE-backports main contrib"
    ZFS_FROM=(-t "$SUITE-backports")
fi
# Small tools the end-to-end tests and their authors may want in the guest.
TOOL_PKGS=(
    coreutils findutils diffutils util-linux procps psmisc iproute2 e2fsprogs
    rsync sqlite3 python3 jq xxd file less strace lsof pv
    zstd xz-utils gzip bzip2 openssl openssh-client openssh-server
)
# -------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "build-image.sh must run as root (debootstrap, chroot, mounts)"

out=$(image_dir)
if [ "$force" = 0 ] && [ -f "$out/image.env" ]; then
    log "image up to date: $out"
    printf '%s\n' "$out"
    exit 0
fi

ensure_build_tools
mkdir -p "$VM_CACHE"
exec 9>"$VM_CACHE/.lock"
if ! flock -n 9; then
    log "another build holds $VM_CACHE/.lock; waiting"
    flock 9
fi
if [ "$force" = 0 ] && [ -f "$out/image.env" ]; then
    log "image up to date (built meanwhile): $out"
    printf '%s\n' "$out"
    exit 0
fi

start=$(date +%s)
work=$(mktemp -d "$VM_CACHE/.build-XXXXXX")
root=$work/root
buildlog=$VM_CACHE/build.log
: >"$buildlog"

# Long steps run in their own process group, so that an interrupted build
# stops them (and only them) before unmounting. Output goes to the build log.
child=
bg() {
    local rc=0
    setsid -w "$@" >>"$buildlog" 2>&1 &
    child=$!
    wait "$child" || rc=$?
    child=
    return "$rc"
}
mounts_under() { findmnt -rn -o TARGET | grep -E "^$1(/|\$)" | sort -r || true; }
unmount_under() {
    local m
    for m in $(mounts_under "$1"); do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done
}
cleanup() {
    local rc=$?
    set +e
    if [ -n "$child" ]; then
        log "stopping the build step (process group $child)"
        kill -TERM -- "-$child" 2>/dev/null
        for _ in $(seq 1 20); do kill -0 -- "-$child" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    unmount_under "$work"
    if [ -n "$(mounts_under "$work")" ]; then
        log "something is still mounted under $work; not removing it"
    else
        rm -rf "$work"
    fi
    if [ "$rc" != 0 ]; then
        log "image build failed (exit $rc); last lines of $buildlog:"
        tail -n 30 "$buildlog" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { log "[$(( $(date +%s) - start ))s] $*"; }
in_root=(chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    DEBIAN_FRONTEND=noninteractive)

mkdir -p "$root" "$work/out" "$VM_CACHE/debs"
# Build the tree in RAM when there is room: dpkg's fsyncs make it several
# times slower on disk. BACKUP_VM_BUILD_TMPFS=0/1 forces the choice.
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "${BACKUP_VM_BUILD_TMPFS:-$([ "$avail_kb" -ge $((8 * 1024 * 1024)) ] && echo 1 || echo 0)}" = 1 ]; then
    mount -t tmpfs -o size=6G,mode=755 backupvm-build "$root"
fi

step "debootstrap $SUITE into $root (log: $buildlog)"
bg debootstrap --variant=minbase --components=main,contrib --include="$BASE_PKGS" \
    --cache-dir="$VM_CACHE/debs" "$SUITE" "$root" "$MIRROR"

kver=$(ls "$root/lib/modules")
[ "$(printf '%s\n' "$kver" | wc -l)" = 1 ] && [ -n "$kver" ] \
    || die "expected one kernel in the guest, found: $kver"
step "guest kernel: $kver"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
# A private /dev, never a bind of the host's: nothing in the chroot can touch
# the host's device nodes, and the build does not depend on their state (a
# host /dev/null replaced by a regular file, as `backup restore --to-file
# /dev/null` once did, broke DKMS's configure through such a bind).
mount -t tmpfs -o mode=755,size=16M backupvm-dev "$root/dev"
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$node"
    mknod -m 666 "$root/dev/$name" c "$major" "$minor"
done
mkdir -m 755 "$root/dev/pts"
mkdir -m 1777 "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir -p "$VM_CACHE/apt-archives/partial"
mount --bind "$VM_CACHE/apt-archives" "$root/var/cache/apt/archives"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
printf '%s\n' "$SOURCES" >"$root/etc/apt/sources.list"

step "apt-get install ${ZFS_FROM[*]} ${ZFS_PKGS[*]} and tools (DKMS builds OpenZFS for $kver)"
bg "${in_root[@]}" apt-get update
bg "${in_root[@]}" apt-get install -y --no-install-recommends "${TOOL_PKGS[@]}"
bg "${in_root[@]}" apt-get install -y --no-install-recommends ${ZFS_FROM[@]+"${ZFS_FROM[@]}"} "${ZFS_PKGS[@]}"

# Inside a chroot, DKMS may have built for the host's running kernel only.
if [ -z "$(find "$root/lib/modules/$kver" -name 'zfs.ko*' -print -quit)" ]; then
    step "zfs.ko missing for $kver; dkms autoinstall -k $kver"
    bg "${in_root[@]}" dkms autoinstall -k "$kver"
fi
zfs_ko=$(find "$root/lib/modules/$kver" -name 'zfs.ko*' -print -quit)
[ -n "$zfs_ko" ] || die "DKMS did not produce zfs.ko for $kver"
"${in_root[@]}" depmod -a "$kver"
step "module: ${zfs_ko#"$root"}"

"${in_root[@]}" zgenhostid -f >>"$buildlog" 2>&1
echo backup-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbackup-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
install -m 755 "$VM_DIR/guest-stub-init" "$root/usr/sbin/backup-vm-init"
zfs_version=$("${in_root[@]}" dpkg-query -W -f='${Version}' zfsutils-linux)

# Slim down: build trees, package lists, docs.
rm -rf "$root"/var/lib/dkms/zfs/*/build "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
: >"$root/etc/resolv.conf"

for f in vmlinuz initrd.img; do
    [ -f "$root/boot/$f-$kver" ] || die "missing /boot/$f-$kver in the guest"
    cp "$root/boot/$f-$kver" "$work/out/$f"
done

# Unmount the binds (not the tmpfs root itself) before copying the tree.
for m in $(mounts_under "$root"); do
    [ "$m" = "$root" ] || umount "$m"
done

used_mb=$(du -sxm "$root" | cut -f1)
size_mb=$(( used_mb * 5 / 4 + 1024 ))
[ "$size_mb" -ge 3072 ] || size_mb=3072
step "mkfs.ext4 -d: ${used_mb} MiB of files into a ${size_mb} MiB image"
bg mkfs.ext4 -q -F -L backupvm-root -d "$root" "$work/out/rootfs.img" "${size_mb}M"

secs=$(( $(date +%s) - start ))
cat >"$work/out/image.env" <<EOF
IMAGE_KEY=$(image_key)
KERNEL_VERSION=$kver
ZFS_VARIANT=$VM_ZFS
ZFS_PACKAGE_VERSION=$zfs_version
BUILT_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BUILD_SECONDS=$secs
EOF

if [ -e "$out" ]; then mv "$out" "$work/old"; fi
mv "$work/out" "$out"
# Images of older recipes of this variant are of no further use, nor are
# those from before variants (image-<key>).
for d in "$VM_CACHE/image-$VM_ZFS"-* "$VM_CACHE"/image-*; do
    [ -d "$d" ] && [ "$d" != "$out" ] || continue
    case ${d##*/} in
        "image-$VM_ZFS"-*) rm -rf "$d" ;;
        *) [[ ${d##*/} =~ ^image-[0-9a-f]{16}$ ]] && rm -rf "$d" ;;
    esac
done
step "image ready in ${secs}s: $out (kernel $kver, zfs $zfs_version)"
printf '%s\n' "$out"
