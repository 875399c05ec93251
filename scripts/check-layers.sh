#!/usr/bin/env bash
# The workspace's dependency direction (docs/design.md §1.1):
#   backup-cli -> backup-ops -> backup-core -> backup-zfs
# (the binary may also use core and zfs directly). Fails if a crate depends,
# directly or through another, on one above it, in any build (normal, build
# or dev dependencies, all features, every target platform).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# crate, then the crates it must never depend on
rules=(
    "backup-zfs backup-core backup-ops backup-cli"
    "backup-core backup-ops backup-cli"
    "backup-ops backup-cli"
)
fail=0
for rule in "${rules[@]}"; do
    read -r crate forbidden <<<"$rule"
    deps=$(cargo tree -q -p "$crate" --all-features --target all -e normal,build,dev --prefix none --format '{p}' \
        | awk '{print $1}' | sort -u)
    for f in $forbidden; do
        if grep -qx "$f" <<<"$deps"; then
            echo "check-layers: $crate depends on $f (cargo tree -p $crate -i $f)" >&2
            fail=1
        fi
    done
done
[ "$fail" = 0 ] && echo "check-layers: cli -> ops -> core -> zfs holds"
exit "$fail"
