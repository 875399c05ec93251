#!/usr/bin/env bash
# Proves the time limits of .config/nextest.toml: runs the one test that
# hangs on request (backup-zfs, tests::hangs_when_asked_to_prove_the_time_limits,
# with BACKUP_TEST_HANG=1) and checks that nextest ends it within the
# unit-test limit (30 s x 4 + 5 s grace) and reports it as TIMEOUT by name.
# CI runs it; it takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
name=tests::hangs_when_asked_to_prove_the_time_limits
limit=125
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Build first, so that the build is not timed.
cargo nextest run -p backup-zfs --lib --no-run
started=$SECONDS
status=0
BACKUP_TEST_HANG=1 timeout -k 10 $((limit * 2)) \
  cargo nextest run -p backup-zfs --lib --no-tests=fail -E "test(=$name)" >"$log" 2>&1 || status=$?
took=$((SECONDS - started))
fail() { cat "$log" >&2; echo "check-time-limits: $*" >&2; exit 1; }
[ "$status" -ne 0 ] || fail "the hung test passed"
[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "nextest itself had to be killed after ${took} s"
grep -E "TIMEOUT .*$name" "$log" >/dev/null || fail "no TIMEOUT line naming $name"
[ "$took" -le $((limit + 20)) ] || fail "ended after ${took} s, limit ${limit} s"
[ "$took" -ge 115 ] || fail "ended after ${took} s, before the limit: not by the time limit"
grep -E "TIMEOUT .*$name" "$log"
echo "check-time-limits: the hung test was ended after ${took} s and named (limit ${limit} s)"
