#!/usr/bin/env bash
# Every source path the docs name (`crates/...`, `tests/...`, `scripts/...`,
# `schedules/...`, `restore-drills/...` in README.md and docs/*.md) exists:
# a moved file must not leave design.md pointing at nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
while IFS=: read -r doc path; do
    # `crates/core/src/format/*.rs` and `foo/{a,b}.rs` name several files
    if [[ $path == *'*'* || $path == *'{'* ]]; then
        expanded=$(bash -O nullglob -c "echo $path")
        [ -n "$expanded" ] && continue
    elif [ -e "$path" ]; then
        continue
    fi
    echo "check-doc-paths: $doc names $path, which does not exist" >&2
    missing=1
done < <(grep -oP '(?<![A-Za-z0-9_./-])(crates|tests|scripts|schedules|restore-drills)/[A-Za-z0-9_./*{},-]*[A-Za-z0-9_*}/]' \
    README.md docs/*.md | sort -u)
[ "$missing" = 0 ] && echo "check-doc-paths: every path named in README.md and docs/ exists"
exit "$missing"
