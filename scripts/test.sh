#!/usr/bin/env bash
# The whole test suite: unit tests, format tests, and end-to-end tests that
# drive the real `backup` binary against real ZFS (zfs-fuse, installed and
# started here if needed), and against real SFTP and S3 servers (sshd and
# Garage, installed or built here if needed). Run as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zfs.sh
. scripts/lib/garage.sh

# /usr/sbin/sshd for the SFTP tests, which run their own. If the package is
# installed here, the system service it starts (port 22, all addresses) is
# stopped and disabled again: the machine had no sshd before the test run
# and is left with none listening. An sshd that was already there is not
# touched (nor used).
ensure_sshd() {
  dpkg -s openssh-server >/dev/null 2>&1 && return 0
  apt_install openssh-server
  if [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/ssh ]; then
    /etc/init.d/ssh stop >/dev/null 2>&1 || true
    update-rc.d ssh disable >/dev/null 2>&1 || true
  fi
}

ensure_zfs
clean_test_leftovers
# systemd-analyze checks the units `backup schedule install` writes.
apt_install systemd
# The SFTP and S3 tests start their own servers (tests/e2e/servers/): sshd
# from openssh-server, with its own config on a free loopback port, and
# Garage, built once (scripts/lib/garage.sh). restic is what the servers'
# smoke tests and the benchmarks compare with.
ensure_sshd
apt_install restic
# BACKUP_TEST_SKIP_GARAGE=1: for a run of tests that need no S3 server (CI's
# first stage, while Garage builds in the background).
[ -n "${BACKUP_TEST_SKIP_GARAGE:-}" ] || ensure_garage
if cargo nextest --version >/dev/null 2>&1; then
  # Time limits per group of tests: .config/nextest.toml.
  cargo nextest run --workspace --features backup-zfs/test-pool --no-fail-fast "$@"
else
  # libtest has no per-test limit: the whole run is bounded (it takes about
  # 15 minutes; BACKUP_TEST_RUN_LIMIT seconds, default 3600), and if it is
  # cut off, the tests libtest reported as running for over 60 seconds are
  # named as the ones that hung.
  cargo test --workspace --features backup-zfs/test-pool --no-run
  log=$(mktemp)
  status=0
  timeout -k 30 "${BACKUP_TEST_RUN_LIMIT:-3600}" \
    cargo test --workspace --features backup-zfs/test-pool --no-fail-fast "$@" 2>&1 |
    tee "$log" || status=$?
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "test.sh: the test run was stopped after ${BACKUP_TEST_RUN_LIMIT:-3600} s; still running:" >&2
    grep -o 'test .* has been running for over 60 seconds' "$log" | sed 's/^/  /' >&2 || true
  fi
  rm -f "$log"
  exit "$status"
fi
