#!/bin/bash
# The per-run init of the openzfs-vm guest, run as PID 1 by
# /sbin/backup-vm-init from the control share that run.sh prepared
# (/run/backup-vm). Not baked into the image: edit freely.
#
# Control share, written by run.sh:  config (shell variables), env (exports),
#                                    cmd (the command, a bash array)
# Results, read by run.sh:           exit-status, output, dmesg
set -u
CTL=/run/backup-vm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

say() { echo "backup-vm: $*" >/dev/console; }

finish() {
    local rc=$1
    dmesg >"$CTL/dmesg" 2>/dev/null
    echo "$rc" >"$CTL/exit-status"
    sync
    echo "BACKUP-VM-EXIT-STATUS=$rc" >/dev/console
    umount "${PROJECT_DIR:-/nonexistent}" 2>/dev/null
    umount "$CTL" 2>/dev/null
    sync
    echo o >/proc/sysrq-trigger
    sleep 30
    exit "$rc"
}
fail() { say "setup failed: $*"; finish 125; }

exec </dev/null >/dev/console 2>&1

# shellcheck source=/dev/null
. "$CTL/config" || fail "cannot read $CTL/config"

mkdir -p /dev/pts /dev/shm
mountpoint -q /dev/pts || mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
dmesg -n "${GUEST_LOGLEVEL:-1}"
hostname backup-vm
ip link set lo up || fail "cannot bring up lo"

# Scratch disk (created by run.sh, ext4) as /tmp: pools on sparse files live there.
mount -o noatime /dev/vdb /tmp || fail "cannot mount the scratch disk /dev/vdb on /tmp"
chmod 1777 /tmp
mkdir -p /var/tmp && mount --bind /tmp /var/tmp

if [ "${GUEST_UDEV:-1}" = 1 ]; then
    /lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 || fail "cannot start udevd"
fi
modprobe zfs ${ZFS_ARC_MAX:+zfs_arc_max=$ZFS_ARC_MAX} || fail "modprobe zfs failed"
if [ "${GUEST_UDEV:-1}" = 1 ]; then
    udevadm trigger --action=add >/dev/null 2>&1
    udevadm settle --timeout=30 >/dev/null 2>&1
fi

mkdir -p "$PROJECT_DIR" || fail "cannot create $PROJECT_DIR"
mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,${PROJECT_MOUNT_OPTS:-rw}" \
    project "$PROJECT_DIR" || fail "cannot mount the project share at $PROJECT_DIR"
cd "$WORKDIR" || fail "no such directory in the guest: $WORKDIR"

# shellcheck source=/dev/null
. "$CTL/env" || fail "cannot read $CTL/env"
# shellcheck source=/dev/null
. "$CTL/cmd" || fail "cannot read $CTL/cmd"

say "$(uname -r), $(cat /sys/module/zfs/version 2>/dev/null || echo 'zfs ?'), $(nproc) cpus, $(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 )) MiB; running in $WORKDIR: ${CMD[*]}"
t0=$(date +%s)
set -o pipefail
timeout -k 10 "$CMD_TIMEOUT" "${CMD[@]}" 2>&1 | tee "$CTL/output"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && say "the command timed out after ${CMD_TIMEOUT}s"
say "command exited with status $rc after $(( $(date +%s) - t0 ))s"
finish "$rc"
