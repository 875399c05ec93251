#!/usr/bin/env bash
# A self-contained demonstration on a throwaway pool and a local repository:
# init, ship a full, change files, ship an incremental, list, restore the
# latest into a new dataset, compare with the source, check every blob.
# Leaves nothing behind (pass --keep to keep the pool and repository).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zfs.sh
ensure_zfs
keep=false
[ "${1:-}" = "--keep" ] && keep=true

cargo build --release -q -p backup-cli
backup="$PWD/target/release/backup"
work=$(mktemp -d /tmp/backup-demo.XXXXXX)
pool="demo$$"
cleanup() {
  if ! $keep; then
    zpool destroy -f "$pool" 2>/dev/null || true
    rm -rf "$work"
  else
    echo "kept: pool $pool, work directory $work"
  fi
}
trap cleanup EXIT

truncate -s 1G "$work/disk"
zpool create -m "$work/mnt" "$pool" "$work/disk"
zfs create "$pool/data"
src="$work/mnt/data"
echo "demo passphrase, keep it safe" >"$work/passphrase"
export BACKUP_REPOSITORY="$work/repo" BACKUP_PASSWORD_FILE="$work/passphrase" BACKUP_CACHE_DIR="$work/cache" BACKUP_STATE_DIR="$work/state"

step() { printf '\n== %s\n' "$*"; }
step "files on $pool/data"
mkdir -p "$src/docs/ünïcødé dir"
cp -r /usr/share/common-licenses "$src/docs/" 2>/dev/null || echo "some text" >"$src/docs/text.txt"
head -c 32M /dev/urandom >"$src/random.bin"
truncate -s 2G "$src/sparse.img"
echo "hello" >"$src/docs/ünïcødé dir/file with spaces.txt"
ls -la "$src"

step "backup init"
"$backup" init
step "backup send $pool/data (full)"
"$backup" send "$pool/data"
step "change files, backup send $pool/data (incremental)"
echo "a new line" >>"$src/docs/ünïcødé dir/file with spaces.txt"
head -c 4M /dev/urandom >"$src/new.bin"
"$backup" send "$pool/data"
step "backup list"
"$backup" list
latest=$("$backup" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
step "backup restore ${latest:0:8} --to $pool/restored"
"$backup" restore "${latest:0:8}" --to "$pool/restored"
step "compare source and restored"
diff -r --no-dereference "$src" "$work/mnt/restored"
echo "identical"
step "backup check --read-data"
"$backup" check --read-data
printf '\ndemo OK\n'
