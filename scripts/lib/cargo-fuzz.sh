# shellcheck shell=bash
# Shared by scripts/fuzz.sh: installs the pinned cargo-fuzz with
# `cargo install --locked`, unless that version is already installed.
# Only the stable toolchain is assumed (see scripts/fuzz.sh for how the
# build gets libFuzzer's flags on it).

CARGO_FUZZ_VERSION=0.13.2

ensure_cargo_fuzz() {
    local have
    have=$(cargo fuzz --version 2>/dev/null | awk '{print $2}') || true
    if [[ $have == "$CARGO_FUZZ_VERSION" ]]; then
        return 0
    fi
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION (found: ${have:-none})" >&2
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
}
