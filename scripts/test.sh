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
# systemd-analyze checks the units `backup schedule install` writes.
apt_install systemd
# The SFTP and S3 tests start their own servers (tests/e2e/servers/): sshd
# from openssh-server, with its own config on a free loopback port, and
# Garage, built once (scripts/lib/garage.sh). restic is what the servers'
# smoke tests and the benchmarks compare with.
ensure_sshd
apt_install restic
ensure_garage
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --features backup-zfs/test-pool --no-fail-fast "$@"
else
  cargo test --workspace --features backup-zfs/test-pool --no-fail-fast "$@"
fi
