# Shared by scripts/*.sh: make sure a Garage S3 server binary (2.x) is
# available for the S3 tests and benchmarks. Garage is not packaged by Debian,
# so it is built from crates.io once and kept in $GARAGE_ROOT (reused by later
# runs on the same machine). Only the sqlite metadata engine is built, which
# roughly halves the build. Exports BACKUP_TEST_GARAGE (the binary's path).

GARAGE_VERSION=${GARAGE_VERSION:-2.5.0}
GARAGE_ROOT=${GARAGE_ROOT:-/var/cache/backup-tests/garage-$GARAGE_VERSION}

ensure_garage() {
  local bin="$GARAGE_ROOT/bin/garage"
  mkdir -p "$GARAGE_ROOT"
  # One build at a time: a second caller (CI builds it in the background
  # while other stages run) waits for the first and then finds the binary.
  exec {garage_lock}>"$GARAGE_ROOT.lock"
  flock "$garage_lock"
  if [ ! -x "$bin" ] || ! "$bin" --version >/dev/null 2>&1; then
    echo "building garage $GARAGE_VERSION into $GARAGE_ROOT (once per machine)" >&2
    local started=$SECONDS
    CARGO_TARGET_DIR="$GARAGE_ROOT/target" cargo install garage --locked \
      --version "$GARAGE_VERSION" --no-default-features \
      --features bundled-libs,sqlite --root "$GARAGE_ROOT" >&2
    rm -rf "$GARAGE_ROOT/target"
    echo "garage built in $((SECONDS - started)) s" >&2
  fi
  flock -u "$garage_lock"
  exec {garage_lock}>&-
  export BACKUP_TEST_GARAGE="$bin"
}
