#!/usr/bin/env bash
# Runs in the openzfs-vm guest (run-e2e.sh puts it there): the smoke test,
# then the e2e test binary; fails if either did.
# Usage: lane.sh [--smoke] [-- E2E-EXECUTABLE [TEST-ARGS...]]
set -uo pipefail
rc=0
if [ "${1:-}" = --smoke ]; then
    shift
    echo "==== openzfs-vm: smoke.sh"
    bash "$(dirname "${BASH_SOURCE[0]}")/smoke.sh" || rc=1
fi
[ "${1:-}" != -- ] || shift
if [ $# -gt 0 ]; then
    echo "==== openzfs-vm: e2e: $*"
    "$@" || rc=1
fi
exit "$rc"
