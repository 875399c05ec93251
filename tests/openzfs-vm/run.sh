#!/usr/bin/env bash
# Boots the openzfs-vm guest (qemu, TCG) with the project directory shared at
# the same absolute path, runs a command in it, streams the guest console, and
# exits with the command's exit status.
#
# Usage: run.sh [options] [-- COMMAND [ARGS...]]
#   (no COMMAND: the e2e test executable, built here with cargo --release)
#
#   --timeout SECS    whole run, boot included (default 1800; BACKUP_VM_TIMEOUT)
#   --mem MIB         guest memory (default 3072; BACKUP_VM_MEM)
#   --cpus N          guest cpus (default: host cpus, at most 4; BACKUP_VM_CPUS)
#   --scratch SIZE    sparse scratch disk mounted on the guest's /tmp
#                     (default 40G; BACKUP_VM_SCRATCH)
#   --workdir DIR     working directory in the guest (default: the current
#                     directory if it is inside the project, else the project)
#   --env NAME=VALUE  set a variable in the guest (repeatable). Variables named
#                     BACKUP_*, RUST_*, CARGO_* (but BACKUP_VM_*) and CI are
#                     passed on from this environment; BACKUP_TEST_ZFS
#                     defaults to "openzfs".
#   --results DIR     keep output, dmesg, console.log, exit-status there
#   --ro              share the project read-only
#   --zfs VARIANT     the guest's OpenZFS: stable (Debian 12, 2.1.x; default)
#                     or backports (bookworm-backports, 2.3.x); BACKUP_VM_ZFS
#
# Exit status: the command's; 124 if the run timed out; 125 if the guest
# failed to set up, crashed, or did not report.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout_s=${BACKUP_VM_TIMEOUT:-1800}
mem=${BACKUP_VM_MEM:-3072}
ncpu=$(nproc)
cpus=${BACKUP_VM_CPUS:-$(( ncpu > 4 ? 4 : ncpu ))}
scratch=${BACKUP_VM_SCRATCH:-40G}
workdir=
results=
project_opts=rw
extra_env=()
cmd=()

while [ $# -gt 0 ]; do
    case $1 in
        --timeout) timeout_s=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --cpus) cpus=$2; shift 2 ;;
        --scratch) scratch=$2; shift 2 ;;
        --workdir) workdir=$2; shift 2 ;;
        --env) [[ $2 == [A-Za-z_]*=* ]] || die "--env wants NAME=VALUE, got: $2"
               extra_env+=("$2"); shift 2 ;;
        --results) results=$2; shift 2 ;;
        --ro) project_opts=ro; shift ;;
        --zfs) set_vm_zfs "$2"; shift 2 ;;
        --) shift; cmd=("$@"); break ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1 (see run.sh --help)" ;;
    esac
done
[[ $timeout_s =~ ^[0-9]+$ ]] && [ "$timeout_s" -ge 60 ] || die "--timeout wants seconds >= 60"
[ "$(id -u)" = 0 ] || die "run.sh must run as root (it may install qemu, and 9p passthrough needs it)"

if [ ${#cmd[@]} = 0 ]; then
    log "no command given: building the e2e test executable"
    cmd=("$(e2e_exe)")
    # as `cargo test` runs it
    [ -n "$workdir" ] || workdir=$PROJECT_DIR/crates/cli
    extra_env=("CARGO_MANIFEST_DIR=$PROJECT_DIR/crates/cli" CARGO_PKG_NAME=backup-cli
        ${extra_env[@]+"${extra_env[@]}"})
fi
# A relative path to a program (./x, target/...) means the host's file: the
# guest starts in another directory.
if [[ ${cmd[0]} == */* && ${cmd[0]} != /* && -e ${cmd[0]} ]]; then
    cmd[0]=$(cd "$(dirname "${cmd[0]}")" && pwd -P)/$(basename "${cmd[0]}")
fi
case ${cmd[0]} in
    /*) [ -e "${cmd[0]}" ] || die "no such file: ${cmd[0]}"
        case ${cmd[0]} in
            "$PROJECT_DIR"/*) ;;
            *) log "warning: ${cmd[0]} is outside $PROJECT_DIR, the only host directory the guest sees" ;;
        esac ;;
esac
if [ -z "$workdir" ]; then
    case $PWD/ in "$PROJECT_DIR"/*) workdir=$PWD ;; *) workdir=$PROJECT_DIR ;; esac
fi

ensure_run_tools
ensure_build_tools
image=$(BACKUP_VM_ZFS=$VM_ZFS "$VM_DIR/build-image.sh" | tail -n 1)
[ -f "$image/image.env" ] || die "no image at $image"

# $run: scratch disk and pid file, always removed. $ctl: the control share
# and results; removed after a successful run unless --results names it.
run=$(mktemp -d "${TMPDIR:-/tmp}/backup-openzfs-vm.XXXXXX")
if [ -n "$results" ]; then
    mkdir -p "$results"
    ctl=$(cd "$results" && pwd -P)
    rm -f "$ctl"/{output,dmesg,exit-status,console.log}
else
    ctl=$(mktemp -d "${TMPDIR:-/tmp}/backup-openzfs-vm-results.XXXXXX")
fi
console=$ctl/console.log
qpid=
cleanup() {
    local rc=$?
    set +e
    local pid=$qpid
    [ -z "$pid" ] && [ -s "$run/qemu.pid" ] && pid=$(cat "$run/qemu.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        log "stopping qemu (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -KILL "$pid" 2>/dev/null
    fi
    # qemu itself, if timeout(1) was the one killed
    if [ -s "$run/qemu.pid" ]; then
        pid=$(cat "$run/qemu.pid")
        kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ] \
            && kill -KILL "$pid" 2>/dev/null
    fi
    rm -rf "$run"
    if [ -z "$results" ]; then
        if [ "$rc" = 0 ]; then rm -rf "$ctl"; else log "console log and results kept in $ctl"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The control share: init, config, env, command.
cp "$VM_DIR/guest-init.sh" "$ctl/guest-init.sh"
{
    printf 'PROJECT_DIR=%q\n' "$PROJECT_DIR"
    printf 'PROJECT_MOUNT_OPTS=%q\n' "$project_opts"
    printf 'WORKDIR=%q\n' "$workdir"
    # the guest stops the command first, so that it still reports
    printf 'CMD_TIMEOUT=%q\n' "$(( timeout_s > 360 ? timeout_s - 120 : timeout_s * 2 / 3 ))"
    printf 'ZFS_ARC_MAX=%q\n' "${BACKUP_VM_ARC_MAX:-$(( mem * 1024 * 1024 / 4 ))}"
    printf 'GUEST_UDEV=%q\n' "${BACKUP_VM_UDEV:-1}"
    printf 'GUEST_LOGLEVEL=%q\n' "${BACKUP_VM_LOGLEVEL:-1}"
} >"$ctl/config"
{
    echo 'export TMPDIR=/tmp'
    [ -n "${BACKUP_TEST_ZFS:-}" ] || echo 'export BACKUP_TEST_ZFS=openzfs'
    while IFS= read -r name; do
        case $name in BACKUP_VM_*) continue ;; esac
        printf 'export %s=%q\n' "$name" "${!name}"
    done < <(compgen -e | grep -E '^(BACKUP_|RUST_|CARGO_|CI$)' || true)
    for kv in ${extra_env[@]+"${extra_env[@]}"}; do
        printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
    done
} >"$ctl/env"
{
    printf 'CMD=('
    printf '%q ' "${cmd[@]}"
    printf ')\n'
} >"$ctl/cmd"

# The scratch disk, sparse, formatted here (fast) and thrown away after.
truncate -s "$scratch" "$run/scratch.img"
mkfs.ext4 -q -F -m 0 -L scratch -E lazy_itable_init=1,lazy_journal_init=1 "$run/scratch.img"

# shellcheck source=/dev/null
. "$image/image.env"
log "guest: kernel $KERNEL_VERSION, zfs $ZFS_PACKAGE_VERSION, ${cpus} cpus, ${mem} MiB, timeout ${timeout_s}s"
log "project $PROJECT_DIR shared at the same path ($project_opts); command: ${cmd[*]}"
# shellcheck disable=SC2054 # commas are qemu option syntax
qemu=(
    qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$cpus"
    -nodefaults -no-user-config -display none -no-reboot
    -chardev stdio,id=con,signal=off -serial chardev:con
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img"
    -append "root=/dev/vda rw console=ttyS0 init=/usr/sbin/backup-vm-init quiet loglevel=3 panic=1 mitigations=off"
    -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on"
    -drive "file=$run/scratch.img,format=raw,if=virtio,cache=unsafe"
    -fsdev "local,id=ctl,path=$ctl,security_model=none"
    -device virtio-9p-pci,fsdev=ctl,mount_tag=backupvm
    -fsdev "local,id=proj,path=$PROJECT_DIR,security_model=none,multidevs=remap"
    -device virtio-9p-pci,fsdev=proj,mount_tag=project
    -device virtio-rng-pci
    -pidfile "$run/qemu.pid"
)
t0=$(date +%s)
set +e
timeout -k 15 "$timeout_s" "${qemu[@]}" </dev/null > >(sed -u 's/\r$//' | tee "$console") 2>&1 &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
set -e
secs=$(( $(date +%s) - t0 ))
sleep 0.2 # let tee finish the console log

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    log "timed out after ${secs}s (--timeout $timeout_s); qemu was stopped"
    exit 124
fi
status=
if [ -f "$ctl/exit-status" ]; then
    status=$(tr -dc '0-9' <"$ctl/exit-status")
fi
if [ -z "$status" ]; then
    status=$(grep -a -o 'BACKUP-VM-EXIT-STATUS=[0-9]*' "$console" | tail -n 1 | cut -d= -f2 || true)
fi
if [ -z "$status" ]; then
    log "the guest stopped without reporting a status after ${secs}s (qemu exit $qrc): crash?"
    exit 125
fi
log "guest finished in ${secs}s; command exit status $status"
[ -z "$results" ] || log "results in $ctl (output, dmesg, console.log)"
exit "$status"
