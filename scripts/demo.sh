#!/usr/bin/env bash
# The tool as an operator uses it, self-contained: a throwaway file-backed
# pool, a local repository, and a generated configuration with one job and
# its restore drill on that pool. Then: backup init, config check, run (a
# full), a change, run again (an incremental), status, list, drill run with
# its report, ls / find / diff of the file manifests, and one file back
# with restore --path, compared with the source; last, check --read-data.
# Leaves nothing behind (--keep keeps the pool, repository, configuration
# and state). BACKUP_BIN: a binary to use instead of building one (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zfs.sh
ensure_zfs
keep=false
[ "${1:-}" = "--keep" ] && keep=true

if [ -z "${BACKUP_BIN:-}" ]; then
  cargo build --release -q -p backup-cli
fi
backup="${BACKUP_BIN:-$PWD/target/release/backup}"
work=$(mktemp -d /tmp/backup-demo.XXXXXX)
pool="demo$$"
cleanup() {
  if ! $keep; then
    zpool destroy -f "$pool" 2>/dev/null || true
    rm -rf "$work"
  else
    echo "kept: pool $pool, work directory $work (BACKUP_CONFIG=$work/backup.toml)"
  fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
shown() { printf '$ backup %s\n' "$*"; "$backup" "$@"; }

truncate -s 1G "$work/disk"
zpool create -m "$work/mnt" "$pool" "$work/disk"
zfs create "$pool/data"
zfs create -o mountpoint=none "$pool/drills"
src="$work/mnt/data"
echo "demo passphrase, keep it safe" >"$work/passphrase"
chmod 600 "$work/passphrase"

step "files on $pool/data"
mkdir -p "$src/docs/ünïcødé dir" "$src/etc/nginx"
cp -r /usr/share/common-licenses "$src/docs/" 2>/dev/null || echo "some text" >"$src/docs/text.txt"
head -c 32M /dev/urandom >"$src/random.bin"
truncate -s 2G "$src/sparse.img"
echo "hello" >"$src/docs/ünïcødé dir/file with spaces.txt"
echo "worker_processes 1;" >"$src/etc/nginx/nginx.conf"
ls -la "$src"

step "the configuration: $work/backup.toml"
cat >"$work/backup.toml" <<EOF
state_dir = "$work/state"

[repositories.demo]
location = "$work/repo"
password_file = "$work/passphrase"

[jobs.demo]
repository = "demo"
datasets = ["$pool/data"]
prefix = "demo"
keep_source = { keep_last = 3 }
keep_repository = { keep_last = 10 }

[jobs.demo.drill]
scratch_parent = "$pool/drills"   # restores go here, and are destroyed after
rto = "10m"                        # fail if the restore takes longer
rpo = "1h"                         # fail if the newest snapshot is older

[[jobs.demo.drill.probes]]
name = "nginx"
command = "grep -q worker_processes etc/nginx/nginx.conf"
EOF
cat "$work/backup.toml"
export BACKUP_CONFIG="$work/backup.toml" BACKUP_CACHE_DIR="$work/cache"

step "create the repository, check the configuration"
shown init
shown config check

step "the job's first run (a full)"
shown run demo

step "change files, run again (an incremental)"
echo "a new line" >>"$src/docs/ünïcødé dir/file with spaces.txt"
echo "worker_processes 4;" >"$src/etc/nginx/nginx.conf"
head -c 4M /dev/urandom >"$src/new.bin"
shown run demo
shown status
shown list

step "a restore drill: the newest snapshot restored, probed, compared"
shown drill run demo
shown status

step "browse the file manifests: no restore needed"
shown ls "$pool/data@latest" etc/nginx --long
shown find 'nginx.conf'
first=$("$backup" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
shown diff "${first:0:12}" "$pool/data@latest"

step "one file back, as it was in the first snapshot"
shown restore "${first:0:12}" --path etc/nginx/nginx.conf --into "$work/incident"
cat "$work/incident/etc/nginx/nginx.conf"
grep -qx "worker_processes 1;" "$work/incident/etc/nginx/nginx.conf"

step "check every blob"
shown check --read-data
printf '\ndemo OK\n'
