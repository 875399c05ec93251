# shellcheck shell=bash
# Shared helpers of the openzfs-vm lane (sourced by build-image.sh, run.sh,
# run-e2e.sh). Not part of the image recipe: editing this file does not
# rebuild the image.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
PROJECT_DIR=$(cd "$VM_DIR/../.." && pwd -P)
VM_CACHE=${BACKUP_VM_CACHE:-/var/cache/backup-openzfs-vm}

log() { printf '[openzfs-vm] %s\n' "$*" >&2; }
die() { printf '[openzfs-vm] error: %s\n' "$*" >&2; exit 1; }

# Which OpenZFS the guest runs, each from its own image: "stable" (Debian
# 12's own packages, OpenZFS 2.1.x) or "backports" (bookworm-backports, the
# newest Debian packages for Debian 12: 2.3.x). --zfs in run.sh, run-e2e.sh
# and build-image.sh; BACKUP_VM_ZFS otherwise.
set_vm_zfs() {
    case $1 in
        stable|backports) VM_ZFS=$1 ;;
        *) die "unknown OpenZFS variant \"$1\" (--zfs or BACKUP_VM_ZFS): stable or backports" ;;
    esac
}
set_vm_zfs "${BACKUP_VM_ZFS:-stable}"

# The cache key of the guest image: a digest of the variant and of the files
# of its recipe, without their comment lines (so comments can change without
# a rebuild). Anything baked into the image must be listed here.
image_key() {
    { echo "$VM_ZFS"; cat "$VM_DIR/build-image.sh" "$VM_DIR/guest-stub-init"; } \
        | grep -v '^[[:space:]]*#' | sha256sum | cut -c1-16
}
image_dir() { printf '%s/image-%s-%s\n' "$VM_CACHE" "$VM_ZFS" "$(image_key)"; }

_apt_updated=0
apt_install() {
    [ "$(id -u)" = 0 ] || die "need root to install $* (apt-get)"
    if [ "$_apt_updated" = 0 ]; then
        log "apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        _apt_updated=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Host tools for building the image.
ensure_build_tools() {
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
    command -v flock >/dev/null || missing+=(util-linux)
    command -v findmnt >/dev/null || missing+=(mount)
    [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}" || die "cannot install ${missing[*]}"
}

# Host tools for running the guest.
ensure_run_tools() {
    command -v mkfs.ext4 >/dev/null || apt_install e2fsprogs || die "cannot install e2fsprogs"
    command -v qemu-system-x86_64 >/dev/null && return 0
    if apt_install qemu-system-x86; then return 0; fi
    # The rust machines ship qemu-utils from bookworm-backports (10.x), which
    # Breaks bookworm's qemu-system-common (7.2). Take the distribution's
    # qemu-utils along with it (qemu-img stays available, at 7.2).
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    log "qemu-system-x86 conflicts with the installed qemu-utils; installing qemu-utils/$codename with it"
    apt_install --allow-downgrades qemu-system-x86 "qemu-utils/$codename" \
        || die "cannot install qemu-system-x86"
}

# Builds a test executable of the project (release profile, like `cargo
# build --release`) and prints its path.
# Usage: test_exe PACKAGE TEST-TARGET [CARGO-ARGS...]
test_exe() {
    local pkg=$1 target=$2 json exe
    shift 2
    command -v cargo >/dev/null || die "cargo not found"
    json=$(cd "$PROJECT_DIR" && cargo test --release -p "$pkg" --test "$target" "$@" --no-run \
        --message-format=json-render-diagnostics) || die "building the $pkg test binary $target failed"
    exe=$(printf '%s\n' "$json" | TARGET=$target python3 -c '
import json, os, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == os.environ["TARGET"] \
            and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])
') || die "cannot parse cargo output"
    [ -n "$exe" ] && [ -x "$exe" ] || die "cargo did not report the test executable $target of $pkg"
    case $exe in
        "$PROJECT_DIR"/*) ;;
        *) die "$exe is outside $PROJECT_DIR, the only host directory the guest sees (CARGO_TARGET_DIR?)" ;;
    esac
    printf '%s\n' "$exe"
}

# The end-to-end tests (tests/e2e, run from crates/cli).
e2e_exe() { test_exe backup-cli e2e; }
# The zfs crate's integration tests (crates/zfs/tests/integration).
zfs_tests_exe() { test_exe backup-zfs integration --features test-pool; }
