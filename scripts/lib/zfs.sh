# Shared by scripts/*.sh: make sure a ZFS is usable on this machine.
# On a machine without ZFS, installs Debian's zfs-fuse and starts its daemon
# (left running, like any system service; its pid is in /run/zfs-test/).
# A zfs-fuse daemon left wedged by an earlier run (a FUSE connection that
# never answers, `zpool list` hanging) is recovered first: its stuck
# connections are aborted, it is stopped by its pid file (never by name),
# the mounts it served are detached, and a new one is started
# (docs/design.md §20; crates/zfs/src/testpool/wedge.rs does the same
# from inside the tests).

ZFS_FUSE_PIDFILE=/run/zfs-test/zfs-fuse.pid
FUSECTL=/sys/fs/fuse/connections

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

# "minor mountpoint" of every FUSE connection of zfs-fuse: its fuse.zfs
# mounts and its kstat mount (mountpoints as /proc/self/mountinfo escapes them).
zfs_fuse_connections() {
  awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); s = $(i + 2); break }
    if (t == "fuse.zfs" || (t == "fuse" && s == "kstat")) { split($3, d, ":"); print d[2], $5 }
  }' /proc/self/mountinfo
}

# The live zfs-fuse of our pid file, if any.
zfs_fuse_pid() {
  local pid
  pid=$(cat "$ZFS_FUSE_PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = zfs-fuse ] && echo "$pid"
}

# Recovers a wedged zfs-fuse (see the header); does nothing to a healthy one.
recover_zfs_fuse() {
  grep -q ' - fusectl ' /proc/self/mountinfo ||
    mount -t fusectl none "$FUSECTL" 2>/dev/null || true
  local stuck=() id mp waiting pid
  while read -r id mp; do
    waiting=$(cat "$FUSECTL/$id/waiting" 2>/dev/null || echo 0)
    if [ "$waiting" -gt 0 ] && ! timeout -k 5 10 ls "$(printf '%b' "$mp")" >/dev/null 2>&1; then
      stuck+=("$id")
    fi
  done < <(zfs_fuse_connections)
  if [ ${#stuck[@]} -eq 0 ] && timeout -k 5 30 zpool list >/dev/null 2>&1; then
    return 0
  fi
  pid=$(zfs_fuse_pid) || pid=
  echo "zfs-fuse is wedged (stuck FUSE connections: ${stuck[*]:-none}; daemon ${pid:-not ours}): recovering" >&2
  for id in "${stuck[@]}"; do
    echo 1 >"$FUSECTL/$id/abort" 2>/dev/null || true
  done
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
    rm -f "$ZFS_FUSE_PIDFILE"
    # Detach what the dead daemon served, deepest first.
    zfs_fuse_connections | awk '{ print gsub("/", "/", $2), $2 }' | sort -rn |
      while read -r _ mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null || true; done
  fi
}

# Pools and directories that earlier test runs killed (SIGKILL, a time
# limit) left behind: test pools (zbt<pid>x...) whose process is gone,
# drill scratch pools (backupdrill...) whose file is under /tmp, and the
# directories of test pools and of end-to-end tests (zbt-pool-<pid>-...,
# backup-e2e-<pid>-...) with nothing mounted below them (a `backup mount`
# FUSE mount of a killed test is detached first). What a live test
# process owns (its pid in the name) is left alone, so a second run on the
# same machine does not break the first.
live_owner() { # NAME PREFIX: true if NAME is PREFIX<pid>-... of a live process
  local pid=${1#"$2"}; pid=${pid%%-*}
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  [ -d "/proc/$pid" ]
}
clean_test_leftovers() {
  local pool pid dir
  for pool in $(timeout -k 5 30 zpool list -H -o name 2>/dev/null); do
    case "$pool" in
      zbt*x*x*)
        pid=${pool#zbt}; pid=${pid%%x*}
        [ -d "/proc/$pid" ] && continue ;;
      backupdrill*)
        dir=$(timeout -k 5 30 zfs get -H -o value backup:drill-dir "$pool" 2>/dev/null)
        case "$dir" in /tmp/*) ;; *) continue ;; esac
        live_owner "${dir#/tmp/}" backup-e2e- && continue ;;
      *) continue ;;
    esac
    echo "removing pool $pool left by an earlier test run" >&2
    timeout -k 5 60 zpool destroy -f "$pool" >/dev/null 2>&1 || echo "  could not destroy $pool" >&2
  done
  for dir in /tmp/zbt-pool-* /tmp/backup-e2e-*; do
    [ -d "$dir" ] || continue
    live_owner "${dir#/tmp/}" zbt-pool- && continue
    live_owner "${dir#/tmp/}" backup-e2e- && continue
    # A killed `backup mount` test's FUSE mount (source "backup"): detach it.
    awk -v d="$dir/" '/ - fuse(\.backup)? backup / && index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
      while read -r m; do umount -l "$m" 2>/dev/null || true; done
    # Still a mount of a live pool below it: not ours to remove.
    grep -qF " $dir/" /proc/self/mountinfo && continue
    rm -rf "$dir"
  done
}

ensure_zfs() {
  need_root
  export PATH="$PATH:/usr/sbin:/sbin"
  if zfs_fuse_pid >/dev/null; then
    recover_zfs_fuse
  fi
  if timeout -k 5 30 zpool list >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v zfs-fuse >/dev/null 2>&1; then
    apt_install zfs-fuse
  fi
  if ! timeout -k 5 30 zpool list >/dev/null 2>&1; then
    mkdir -p /run/zfs-test
    # A pid file left by a daemon that is gone (a machine restored from a
    # snapshot, a crash) makes zfs-fuse refuse to start: remove it, but only
    # when no process of that pid is a zfs-fuse.
    local pidfile=$ZFS_FUSE_PIDFILE pid
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
      timeout -k 5 30 zpool list >/dev/null 2>&1 && break
      sleep 0.5
    done
  fi
  timeout -k 5 30 zpool list >/dev/null 2>&1 || { echo "$0: ZFS is not usable (zpool list fails)" >&2; exit 1; }
}
