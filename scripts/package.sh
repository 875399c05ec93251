#!/usr/bin/env bash
# Builds the Debian package backup_<version>_amd64.deb (docs/packaging.md):
# the binary, man pages and shell completions generated from the clap
# definitions (`backup manpages`, `backup completions`), the example
# configuration, drills and units under /usr/share/doc/backup/examples,
# /etc/backup (0750) and /var/lib/backup (0700). With dpkg-deb from a
# staging tree: nothing to install beyond dpkg-dev (dpkg-shlibdeps) and
# binutils (strip), both on any Debian build host.
#
# <version> is the backup-cli crate's version (the workspace's). The date
# of the changelog, the man pages and the files is the last commit's
# (or SOURCE_DATE_EPOCH's), so two builds of one commit are the same.
#
# Usage: scripts/package.sh [--debug] [--binary FILE] [--out DIR] [--compression TYPE]
#   --debug        build the dev profile instead of --release (faster, larger
#                  and slower binary; what CI's package check uses)
#   --binary FILE  package this already built binary; build nothing
#   --out DIR      where to write the .deb (default: target/debian)
#   --compression  dpkg-deb's: xz (the default, smallest), gzip (several times
#                  faster to build; CI's package check), zstd or none
# Prints the path of the .deb on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
umask 022

log() { printf '[package] %s\n' "$*" >&2; }
die() { printf '[package] error: %s\n' "$*" >&2; exit 1; }

profile=release
binary=
compression=xz
out=${CARGO_TARGET_DIR:-target}/debian
while [ $# -gt 0 ]; do
    case $1 in
        --debug) profile=debug; shift ;;
        --binary) binary=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --compression) compression=$2; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (usage: scripts/package.sh [--debug] [--binary FILE] [--out DIR] [--compression TYPE])" ;;
    esac
done

for tool in dpkg-deb gzip strip; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install dpkg binutils gzip)"
done

# ---- what goes into the control file ------------------------------------
PACKAGE=backup
ARCH=amd64
MAINTAINER=${BACKUP_DEB_MAINTAINER:-backup maintainers <maintainers@users.noreply.h-seed-3f542c7a.example>}
RECOMMENDS="zfsutils-linux | zfs-fuse, openssh-client, ca-certificates"
# Used only when dpkg-shlibdeps (dpkg-dev) is missing: what the binary
# links (ldd: libc, libm, libgcc_s) on Debian 12.
FALLBACK_DEPENDS="libc6 (>= 2.34), libgcc-s1 (>= 4.2)"
# -------------------------------------------------------------------------

crate_version=$(cargo pkgid -p backup-cli | sed 's/.*[#@]//')
[[ $crate_version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "cannot read backup-cli's version (cargo pkgid: $crate_version)"
# A Cargo pre-release (1.0.0-rc.1) sorts before its release in Debian as 1.0.0~rc.1.
version=${crate_version//-/\~}

# Not exported before cargo runs: the cc crate's build scripts (SQLite,
# zstd, aws-lc) rerun when SOURCE_DATE_EPOCH changes, and the next plain
# `cargo build` or test run would then rebuild them all again.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

if [ -z "$binary" ]; then
    if [ "$profile" = release ]; then
        log "cargo build --release -p backup-cli"
        cargo build --release -p backup-cli --bin backup >&2
    else
        log "cargo build -p backup-cli (dev profile)"
        cargo build -p backup-cli --bin backup >&2
    fi
    binary=${CARGO_TARGET_DIR:-target}/$profile/backup
fi
[ -x "$binary" ] || die "no executable at $binary"

work=$(mktemp -d "${TMPDIR:-/tmp}/backup-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/$PACKAGE
ex=$doc/examples

# Directories: 0755, but the configuration directory (passphrase files,
# SSH keys, S3 secrets live there) and the state directory (the catalog)
# are root's alone, as the generated units' StateDirectoryMode=0700 has it.
install -d -m 0755 "$root/usr/bin" "$root/usr/share/man/man1" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/lintian/overrides" \
    "$ex/restore-drills" "$ex/schedules/cron.d" "$ex/schedules/systemd" "$root/DEBIAN"
install -d -m 0750 "$root/etc/backup"
install -d -m 0700 "$root/var/lib/backup"

install -m 0755 "$binary" "$root/usr/bin/backup"
# As dh_strip does: no debug info, symbols or notes (the dev profile's
# binary shrinks from about 180 MB to about 30).
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/backup"
bin=$root/usr/bin/backup

man_date=$(date -u -d "@$epoch" +%Y-%m-%d)
"$bin" manpages --date "$man_date" "$root/usr/share/man/man1" >/dev/null
gzip -9n "$root"/usr/share/man/man1/*.1
"$bin" completions bash >"$root/usr/share/bash-completion/completions/backup"
"$bin" completions zsh >"$root/usr/share/zsh/vendor-completions/_backup"
"$bin" completions fish >"$root/usr/share/fish/vendor_completions.d/backup.fish"

install -m 0644 README.md "$doc/README.md"
install -m 0644 schedules/backup.toml "$ex/backup.toml"
install -m 0644 restore-drills/*.toml restore-drills/README.md "$ex/restore-drills/"
install -m 0644 schedules/cron.d/backup "$ex/schedules/cron.d/backup"
install -m 0644 schedules/systemd/* "$ex/schedules/systemd/"

cat >"$doc/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: backup
Upstream-Contact: backup maintainers <maintainers@users.noreply.h-seed-3f542c7a.example>
Comment: The binary links statically the Rust crates it depends on (their
 licenses: MIT, Apache-2.0, BSD, ISC, Unicode, zlib, MPL-2.0 and similar; see
 `cargo tree` and each crate's Cargo.toml) and the C libraries SQLite
 (public domain, bundled by rusqlite) and zstd (BSD-3-Clause).

Files: *
Copyright: the backup authors
License: AGPL-3.0-or-later
 This program is free software: you can redistribute it and/or modify it
 under the terms of the GNU Affero General Public License as published by the
 Free Software Foundation, either version 3 of the License, or (at your
 option) any later version.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT
 ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or
 FITNESS FOR A PARTICULAR PURPOSE. See the GNU Affero General Public License
 for more details.
 .
 The text of the license is at <https://www.gnu.org/licenses/agpl-3.0.txt>.
EOF
chmod 0644 "$doc/copyright"

# The version has no Debian revision (the package is built by upstream,
# from upstream's tree: a native package), so the changelog is changelog.gz,
# not changelog.Debian.gz (lintian: wrong-name-for-changelog-of-native-package).
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$PACKAGE" "$version"
    printf '  * Built by scripts/package.sh from commit %s.\n\n' "$commit"
    printf ' -- %s  %s\n' "$MAINTAINER" "$(date -u -R -d "@$epoch")"
} | gzip -9n >"$doc/changelog.gz"

# Tags lintian reports that are deliberate, each explained in docs/packaging.md.
cat >"$root/usr/share/lintian/overrides/$PACKAGE" <<'EOF'
# /etc/backup holds passphrase files and keys; /var/lib/backup the catalog.
backup: non-standard-dir-perm 0750 != 0755 [etc/backup/]
backup: non-standard-dir-perm 0700 != 0755 [var/lib/backup/]
# Rust code has no _FORTIFY_SOURCE; the C it bundles (SQLite, zstd) is built
# by the cc crate with the toolchain's flags.
backup: hardening-no-fortify-functions [usr/bin/backup]
# Strings of dependencies (openssh-sftp-client's "occured"; "ment" is a
# fragment of a longer string), not of backup's own messages.
backup: spelling-error-in-binary ment meant [usr/bin/backup]
backup: spelling-error-in-binary occured occurred [usr/bin/backup]
EOF

if command -v dpkg-shlibdeps >/dev/null; then
    mkdir -p "$work/debian"
    printf 'Source: %s\n\nPackage: %s\nArchitecture: %s\n' "$PACKAGE" "$PACKAGE" "$ARCH" >"$work/debian/control"
    depends=$(cd "$work" && dpkg-shlibdeps -O -e root/usr/bin/backup 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    [ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies of the binary"
    rm -rf "$work/debian"
else
    log "dpkg-shlibdeps not found (dpkg-dev): Depends: $FALLBACK_DEPENDS"
    depends=$FALLBACK_DEPENDS
fi

installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: $PACKAGE
Version: $version
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: $depends
Recommends: $RECOMMENDS
Section: admin
Priority: optional
Description: ZFS snapshot backups: deduplicated, encrypted, restore-drilled
 backup takes ZFS snapshots on a schedule and ships them as zfs send
 streams, chunked, deduplicated, compressed and encrypted on the source
 host, to a repository in a directory (a NAS mount), on an SSH server
 (SFTP) or in S3-compatible storage (Garage, MinIO). It prunes them on a
 retention policy and proves with scheduled restore drills that the data
 comes back, how long that takes and how old it is.
 .
 Single files and directories are listed, found, compared and restored from
 the file manifests recorded at every ship. Status is reported as a table,
 JSON, a Nagios check or a Prometheus textfile; systemd timers or a cron.d
 file are generated from the configuration (/etc/backup/backup.toml; an
 example is in /usr/share/doc/backup/examples).
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

# Every file the same date (dpkg-deb clamps to SOURCE_DATE_EPOCH too).
find "$root" -exec touch -h -d "@$epoch" {} +

mkdir -p "$out"
deb=$out/${PACKAGE}_${version}_${ARCH}.deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group "-Z$compression" --build "$root" "$deb" >&2
log "built $deb ($(du -h "$deb" | cut -f1)): version $version, Depends: $depends"
printf '%s\n' "$deb"
