#!/usr/bin/env bash
# The fuzz targets of fuzz/ (cargo-fuzz, libFuzzer; docs/design.md §11.5).
#
#   scripts/fuzz.sh smoke [SECONDS]       every target for SECONDS (default 6)
#                                         each: CI's stage, about 2 minutes with
#                                         warm caches
#   scripts/fuzz.sh run TARGET [SECONDS]  one target for SECONDS (default 600)
#   scripts/fuzz.sh repro TARGET FILE     runs TARGET once on FILE (a crash
#                                         artifact), printing its panic
#   scripts/fuzz.sh build                 builds every target
#   scripts/fuzz.sh list                  names the targets
#
# Extra arguments after `run TARGET SECONDS` go to libFuzzer (`-jobs=2`,
# `-max_len=N`, ...). A crash, panic, timeout or out-of-memory fails the
# command, leaves the input under fuzz/artifacts/TARGET/ and prints its path
# and the command that reproduces it. New inputs accumulate in
# fuzz/corpus/TARGET/ (not committed); the committed seeds are read from
# fuzz/seeds/TARGET/.
#
# Only the stable toolchain is assumed: the targets are built without a
# sanitizer (`-s none`: the code is safe Rust, and a sanitizer needs
# nightly's -Zsanitizer), with libFuzzer's coverage instrumentation, which
# stable rustc has (-Cpasses=sancov-module); no RUSTC_BOOTSTRAP. A decoder
# that sizes a buffer from an unchecked length still fails: the targets'
# allocator refuses any allocation above 1 GiB (fuzz/src/lib.rs). The
# build's target directory is kept per machine (BACKUP_FUZZ_TARGET_DIR,
# default /var/cache/backup-fuzz/target), so that CI's fresh clone rebuilds
# only the workspace's crates (about 7 minutes on a busy 2-core machine); a
# cold build of every dependency takes about 20 minutes of CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
. scripts/lib/cargo-fuzz.sh

target_dir=${BACKUP_FUZZ_TARGET_DIR:-/var/cache/backup-fuzz/target}
mkdir -p "$target_dir" 2>/dev/null || target_dir=$PWD/fuzz/target
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=$target_dir/$triple/release

# The longest input worth trying, per target: a little more than its
# seeds, so that mutations stay near real objects.
max_len() {
    case $1 in
        blob_opened | index_segment_opened | manifest_opened) echo 16384 ;;
        file_list | job_config) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

dict() {
    case $1 in
        job_config) echo fuzz/dicts/job_config.dict ;;
        *) echo fuzz/dicts/objects.dict ;;
    esac
}

targets() {
    (cd fuzz/fuzz_targets && ls -- *.rs) | sed 's/\.rs$//'
}

build() {
    ensure_cargo_fuzz
    (cd fuzz && cargo fuzz build -s none -O --target-dir "$target_dir" "$@")
}

# fuzz TARGET SECONDS [LIBFUZZER ARGS...]: one libFuzzer process.
fuzz() {
    local t=$1 secs=$2 status=0
    shift 2
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    local before
    before=$(ls "fuzz/artifacts/$t" | wc -l)
    "$bin_dir/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
        -artifact_prefix="fuzz/artifacts/$t/" \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(max_len "$t")" -dict="$(dict "$t")" \
        -print_final_stats=1 "$@" || status=$?
    if ((status != 0)); then
        local found
        found=$(ls -t "fuzz/artifacts/$t" | head -n 1)
        echo "fuzz: target $t FAILED (exit $status)" >&2
        if [[ -n $found ]] && (($(ls "fuzz/artifacts/$t" | wc -l) > before)); then
            echo "fuzz:   input:     fuzz/artifacts/$t/$found" >&2
            echo "fuzz:   reproduce: scripts/fuzz.sh repro $t fuzz/artifacts/$t/$found" >&2
        fi
        return 1
    fi
}

case ${1:-} in
    list)
        targets
        ;;
    build)
        build
        ;;
    smoke)
        secs=${2:-6}
        t0=$SECONDS
        build
        failed=()
        logs=$(mktemp -d)
        trap 'rm -rf "$logs"' EXIT
        for t in $(targets); do
            if fuzz "$t" "$secs" >"$logs/$t" 2>&1; then
                echo "fuzz: smoke $t, $secs s: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$t" | tail -n 1)"
            else
                failed+=("$t")
                echo "fuzz: smoke $t FAILED; the end of its log:" >&2
                tail -n 40 "$logs/$t" >&2
            fi
        done
        echo "fuzz: smoke took $((SECONDS - t0)) s"
        if ((${#failed[@]})); then
            echo "fuzz: FAILED: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
            exit 1
        fi
        ;;
    run)
        t=${2:?usage: scripts/fuzz.sh run TARGET [SECONDS] [LIBFUZZER ARGS...]}
        secs=${3:-600}
        shift $(($# < 3 ? $# : 3))
        build "$t"
        fuzz "$t" "$secs" "$@"
        ;;
    repro)
        t=${2:?usage: scripts/fuzz.sh repro TARGET FILE}
        file=${3:?usage: scripts/fuzz.sh repro TARGET FILE}
        build "$t"
        RUST_BACKTRACE=1 "$bin_dir/$t" -rss_limit_mb=2048 "$file"
        ;;
    *)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
