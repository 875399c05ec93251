#!/usr/bin/env bash
# The Debian package's test (docs/packaging.md), one stage of .ci/run:
#   1. scripts/package.sh --debug --compression gzip builds
#      backup_<version>_amd64.deb (the dev profile and gzip: a release build
#      takes minutes more on CI's two cores, xz a minute more);
#   2. lintian checks it, and fails on any tag not overridden (error,
#      warning or info; the overrides are explained in docs/packaging.md);
#   3. `dpkg -i` installs it into a throwaway copy of a clean Debian 12 root
#      (debootstrap --variant=minbase bookworm, plus man-db and zsh), where
#      `backup --version` (a binary without test hooks), `man backup`, the
#      bash and zsh completions, the directories' modes and `backup config
#      check --offline` on the shipped example configuration must work;
#      then `dpkg --purge` must remove it.
# The root is made once per machine and cached as a tarball in
# $BACKUP_PACKAGE_CACHE (default /var/cache/backup-package), keyed by its
# recipe; each run unpacks a copy, chroots into it and removes it.
# Needs root (debootstrap, chroot, mount). Host tools it lacks (debootstrap,
# lintian, dpkg-dev, binutils) are installed with apt-get.
#
# Usage: scripts/check-package.sh [--release] [--deb FILE] [--prepare]
#   --release   package a release build instead (what users get; slower)
#   --deb FILE  check this .deb; build nothing
#   --tools     only install the host tools it lacks (apt-get)
#   --prepare   only install the host tools and make the cached root (CI
#               runs --tools, then this in the background, the check later)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH:/usr/sbin:/sbin"

log() { printf '[check-package] %s\n' "$*" >&2; }
die() { printf '[check-package] error: %s\n' "$*" >&2; exit 1; }

profile=--debug
prepare=0
deb=
while [ $# -gt 0 ]; do
    case $1 in
        --release) profile=; shift ;;
        --deb) deb=$2; shift 2 ;;
        --prepare) prepare=1; shift ;;
        --tools) prepare=tools; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (usage: scripts/check-package.sh [--release] [--deb FILE])" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"

# ---- the root's recipe ----------------------------------------------------
SUITE=bookworm
MIRROR=${BACKUP_PACKAGE_MIRROR:-http://deb.debian.org/debian}
INCLUDE=man-db,zsh
# ---------------------------------------------------------------------------
CACHE=${BACKUP_PACKAGE_CACHE:-/var/cache/backup-package}
key=$(printf '%s %s %s\n' "$SUITE" "$MIRROR" "$INCLUDE" | sha256sum | cut -c1-16)
tarball=$CACHE/root-$SUITE-$key.tar

started=$SECONDS
t() { echo "$(( SECONDS - started )) s"; }

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v lintian >/dev/null || missing+=(lintian)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
command -v strip >/dev/null || missing+=(binutils)
if [ ${#missing[@]} != 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
[ "$prepare" != tools ] || exit 0

free_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
build=
# The debootstrap tree: unmounted (by path) and removed.
unmount_build() {
    if mountpoint -q "$build/root"; then umount "$build/root" || umount -l "$build/root"; fi
    if findmnt -rn -o TARGET | grep -q "^$build/"; then
        log "something is still mounted under $build; not removing it"
    else
        rm -rf "$build"
    fi
    build=
}

# The cached clean root: made once per machine.
make_root() {
    mkdir -p "$CACHE"
    if [ ! -f "$tarball" ]; then
        exec 9>"$CACHE/.lock"
        flock 9
        if [ ! -f "$tarball" ]; then
            log "making the clean Debian 12 root: debootstrap --variant=minbase --include=$INCLUDE $SUITE (once per machine)"
            mkdir -p "$CACHE/debs"
            build=$(mktemp -d "$CACHE/.build-XXXXXX")
            mkdir "$build/root"
            if [ "$(free_kb)" -ge $((2 * 1024 * 1024)) ]; then
                mount -t tmpfs -o size=1G,mode=755 backup-package-build "$build/root"
            fi
            if ! debootstrap --variant=minbase --include="$INCLUDE" --cache-dir="$CACHE/debs" \
                    "$SUITE" "$build/root" "$MIRROR" >"$build/log" 2>&1; then
                tail -n 30 "$build/log" >&2
                unmount_build
                die "debootstrap failed"
            fi
            rm -rf "$build"/root/var/cache/apt/archives/*.deb "$build"/root/var/lib/apt/lists/*
            tar -C "$build/root" -cf "$build/root.tar" .
            mv "$build/root.tar" "$tarball"
            unmount_build
            # Roots of older recipes are of no further use.
            for old in "$CACHE"/root-*.tar; do
                [ "$old" = "$tarball" ] || rm -f "$old"
            done
            log "[$(t)] cached $tarball"
        fi
        exec 9>&-
    fi
}

if [ "$prepare" = 1 ]; then
    make_root
    log "[$(t)] the clean root is ready: $tarball"
    exit 0
fi

if [ -z "$deb" ]; then
    log "building the package: scripts/package.sh $profile --compression gzip"
    deb=$(bash scripts/package.sh $profile --compression gzip)
    log "[$(t)] built $deb"
fi
[ -f "$deb" ] || die "no package at $deb"
version=$(dpkg-deb -f "$deb" Version)

work=
build=
lintian_pid=
lintian_log=
cleanup() {
    local rc=$?
    set +e
    [ -z "$lintian_pid" ] || kill "$lintian_pid" 2>/dev/null
    [ -z "$build" ] || unmount_build
    if [ -n "$work" ]; then
        # Unmount what this script mounted, by path, then remove the copy.
        for m in "$work/root/proc" "$work/root"; do
            if mountpoint -q "$m"; then umount "$m" || umount -l "$m"; fi
        done
        if findmnt -rn -o TARGET | grep -q "^$work/"; then
            log "something is still mounted under $work; not removing it"
        else
            rm -rf "$work"
        fi
    fi
    [ -z "$lintian_log" ] || rm -f "$lintian_log"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# lintian reads the whole binary; it runs while the root is prepared.
lintian_log=$(mktemp)
lintian --fail-on error,warning,info --display-info "$deb" >"$lintian_log" 2>&1 &
lintian_pid=$!

make_root

work=$(mktemp -d "$CACHE/.check-XXXXXX")
root=$work/root
mkdir "$root"
# In RAM when there is room: unpacking, dpkg's fsyncs and the removal are
# then a matter of seconds.
if [ "$(free_kb)" -ge $((2 * 1024 * 1024)) ]; then
    mount -t tmpfs -o size=1G,mode=755 backup-package-check "$root"
fi
tar -C "$root" -xf "$tarball"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/backup.deb"
in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
log "[$(t)] dpkg -i into a copy of the clean root ($root)"
in_root dpkg -i /tmp/backup.deb >&2

fail() { log "FAILED: $*"; exit 1; }
check() { log "ok: $*"; }

out=$(in_root backup --version)
[ "$out" = "backup ${version//\~/-}" ] || fail "backup --version printed \"$out\", not \"backup $version\""
check "backup --version: $out"
# target/debug/backup is also what the e2e build leaves there, with the
# engine's test hooks (backup-core/test-hooks); the package must not have them.
if in_root grep -q BACKUP_TEST_PAUSE_AT /usr/bin/backup; then
    fail "the packaged binary has the test hooks (built with the e2e tests' features)"
fi
check "no test hooks in the binary"

page=$(in_root man -P cat backup 2>&1) || fail "man backup: $page"
grep -Eq 'backup +- +Ships ZFS snapshots' <<<"$page" || fail "man backup has no NAME line: $page"
page=$(in_root man -P cat backup-send 2>&1) || fail "man backup-send: $page"
grep -q -- '--full' <<<"$page" || fail "man backup-send lacks --full"
pages=$(in_root sh -c 'ls /usr/share/man/man1/backup*.1.gz | wc -l')
check "man backup, man backup-send ($pages pages)"

out=$(in_root bash -c 'source /usr/share/bash-completion/completions/backup && complete -p backup') \
    || fail "bash cannot load the completions"
grep -q -- '-F _backup' <<<"$out" || fail "bash completion not registered: $out"
words=$(in_root bash -c 'source /usr/share/bash-completion/completions/backup
    COMP_WORDS=(backup dri); COMP_CWORD=1; _backup backup dri backup; echo "${COMPREPLY[*]}"')
[ "$words" = drill ] || fail "bash completes \"backup dri\" to \"$words\", not drill"
check "bash completion: $out; \"backup dri<TAB>\" -> $words"
in_root zsh -n /usr/share/zsh/vendor-completions/_backup || fail "zsh cannot parse _backup"
in_root test -s /usr/share/fish/vendor_completions.d/backup.fish || fail "no fish completions"
check "zsh completion parses; fish completion present"

modes=$(in_root stat -c '%n %a %U:%G' /etc/backup /var/lib/backup)
[ "$modes" = $'/etc/backup 750 root:root\n/var/lib/backup 700 root:root' ] || fail "modes: $modes"
check "modes: ${modes//$'\n'/, }"

example=/usr/share/doc/backup/examples/backup.toml
out=$(in_root backup config check --offline --config "$example" 2>&1) \
    || fail "backup config check --offline --config $example: $out"
check "$out"
in_root cp "$example" /etc/backup/backup.toml
out=$(in_root backup config check --offline 2>&1) || fail "backup config check --offline (default path): $out"
check "$out"
in_root test -f /usr/share/doc/backup/examples/restore-drills/targets.toml || fail "no drill examples"

in_root rm /etc/backup/backup.toml
in_root dpkg --purge backup >&2
left=$(in_root sh -c 'ls -d /usr/bin/backup /usr/share/doc/backup /etc/backup /var/lib/backup 2>/dev/null' || true)
[ -z "$left" ] || fail "dpkg --purge left: $left"
check "dpkg --purge removes everything"

if wait "$lintian_pid"; then
    lintian_rc=0
else
    lintian_rc=$?
fi
lintian_pid=
grep -v '^running with root privileges' "$lintian_log" >&2 || true
[ "$lintian_rc" = 0 ] || fail "lintian found tags (exit $lintian_rc); fix them, or override and explain them in docs/packaging.md"
check "lintian: no tags but the overridden ones"

log "passed in $(t): $deb"
