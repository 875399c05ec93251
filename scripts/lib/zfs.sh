# Shared by scripts/*.sh: make sure a ZFS is usable on this machine.
# On a machine without ZFS, installs Debian's zfs-fuse and starts its daemon
# (left running, like any system service; its pid is in /run/zfs-test/).

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "$0: ZFS needs root; run as root (or with sudo)" >&2
    exit 2
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_zfs() {
  need_root
  export PATH="$PATH:/usr/sbin:/sbin"
  if zpool list >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v zfs-fuse >/dev/null 2>&1; then
    apt_install zfs-fuse
  fi
  if ! zpool list >/dev/null 2>&1; then
    mkdir -p /run/zfs-test
    # A pid file left by a daemon that is gone (a machine restored from a
    # snapshot, a crash) makes zfs-fuse refuse to start: remove it, but only
    # when no process of that pid is a zfs-fuse.
    local pidfile=/run/zfs-test/zfs-fuse.pid pid
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile" 2>/dev/null || true)
      if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != zfs-fuse ]; then
        rm -f "$pidfile"
      fi
    fi
    # The daemon imports every pool in its cache at start. Pools of test runs
    # that were killed (backing files in /tmp, gone or half torn down) come
    # back FAULTED or busy and have been seen to wedge the daemon's FUSE
    # side: set aside a cache that names only /tmp vdevs.
    local cache=/var/lib/zfs/zpool.cache
    if [ -s "$cache" ] && ! strings "$cache" | grep '^/' | grep -qv '^/tmp/'; then
      mv "$cache" "$cache.stale-$(date +%s)"
    fi
    zfs-fuse -p "$pidfile"
    for _ in $(seq 1 40); do
      zpool list >/dev/null 2>&1 && break
      sleep 0.5
    done
  fi
  zpool list >/dev/null 2>&1 || { echo "$0: ZFS is not usable (zpool list fails)" >&2; exit 1; }
}
