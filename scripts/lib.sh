# Shared helpers for scripts/run.sh, scripts/test.sh and scripts/bench.sh.
# Every `ensure_*` function is idempotent: it checks first and installs only what is missing.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_BINDGEN_VERSION="0.2.130" # must equal the wasm-bindgen crate in Cargo.lock
MINISTACK_VERSION="1.5.33"
TOOLS_VENV="$ROOT/.venv"

# Each line carries the time since the script started (SECONDS), so a slow step shows.
log() { printf '\033[1;34m==>\033[0m [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }

# apt-get as root, or through sudo when there is one.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -z "${APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_rust() {
  have cargo || die "cargo not found: install rustup first (https://rustup.rs)"
  have rustup || die "rustup not found: the wasm32 target is installed through rustup"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  for comp in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$comp"; then
      log "installing rustup component $comp"
      rustup component add "$comp"
    fi
  done
}

# wasm-bindgen-cli must match the wasm-bindgen crate exactly. Its own Cargo.lock names a
# webpki-roots release the registry may not serve; in that case install from the crate source
# with that one dependency pinned to a release that is there.
ensure_wasm_bindgen() {
  if have wasm-bindgen && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WASM_BINDGEN_VERSION" ]; then
    return
  fi
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  if cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --quiet 2>/dev/null; then
    return
  fi
  local crate work
  crate=$(ls "$HOME"/.cargo/registry/cache/*/wasm-bindgen-cli-"$WASM_BINDGEN_VERSION".crate 2>/dev/null | head -n1 || true)
  [ -n "$crate" ] || die "could not download wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  work=$(mktemp -d)
  tar -xzf "$crate" -C "$work"
  (
    cd "$work/wasm-bindgen-cli-$WASM_BINDGEN_VERSION"
    cargo update --quiet -p webpki-roots --precise 1.0.10
    cargo install --path . --locked --quiet
  )
  rm -rf "$work"
  have wasm-bindgen || die "wasm-bindgen is not on PATH after install (add ~/.cargo/bin to PATH)"
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's chromium"
    apt_install chromium fonts-liberation
  fi
}

ensure_node() {
  if ! have node || ! have npm; then
    log "installing node and npm"
    apt_install nodejs npm
  fi
}

# wasm-opt from npm's binaryen: Debian's binaryen (108) breaks hydration (toolchain.md), and
# the npm package installs in seconds where `cargo install wasm-opt` takes ten minutes.
BINARYEN_VERSION="132.0.0"
WASM_OPT="$ROOT/target/tools/binaryen/node_modules/.bin/wasm-opt"
ensure_wasm_opt() {
  if [ -x "$WASM_OPT" ] && "$WASM_OPT" --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    return
  fi
  ensure_node
  log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
  mkdir -p "$ROOT/target/tools/binaryen"
  (cd "$ROOT/target/tools/binaryen" && npm install --no-audit --no-fund --loglevel=error \
    --no-save --prefix . "binaryen@$BINARYEN_VERSION")
  [ -x "$WASM_OPT" ] || die "wasm-opt is missing after installing binaryen"
}

ensure_node_modules() {
  ensure_node
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] ||
     [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
    log "installing end2end node modules"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_venv() {
  if [ ! -x "$TOOLS_VENV/bin/python" ]; then
    log "creating the Python venv for the test tools"
    if ! python3 -m venv "$TOOLS_VENV" 2>/dev/null; then
      apt_install python3-venv
      python3 -m venv "$TOOLS_VENV"
    fi
  fi
  local installed
  # (not installed yet: pip exits 1, which must not end the script)
  installed=$("$TOOLS_VENV/bin/pip" show ministack 2>/dev/null | awk '/^Version:/ { print $2 }' || true)
  if [ "$installed" != "$MINISTACK_VERSION" ]; then
    log "installing ministack $MINISTACK_VERSION (AWS emulator)"
    "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check "ministack==$MINISTACK_VERSION"
  fi
}

# Installs tests/SUITE/requirements.txt into the venv unless the venv already holds that exact
# file (a stamp copy) and, when given, the executable NEEDS; MESSAGE is logged when it installs.
ensure_requirements() {
  local suite=$1 message=$2 needs=${3:-}
  ensure_venv
  local file="$ROOT/tests/$suite/requirements.txt" stamp="$TOOLS_VENV/.$suite-requirements"
  if [ ! -f "$stamp" ] || ! cmp -s "$file" "$stamp" || { [ -n "$needs" ] && [ ! -x "$TOOLS_VENV/bin/$needs" ]; }; then
    log "$message"
    "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$file"
    cp "$file" "$stamp"
  fi
}

# The official SDKs' test dependencies (tests/sdk/requirements.txt) in the same venv.
ensure_sdk_tools() {
  ensure_node
  ensure_requirements sdk "installing the official SDKs' test requirements (stream-chat, pytest, boto3)"
}

# schemathesis for the OpenAPI fuzz step (tests/openapi/requirements.txt) in the same venv.
ensure_openapi_tools() {
  ensure_requirements openapi "installing the OpenAPI fuzzer (schemathesis)"
}

# The AWS CLI (and boto3, pytest) for the Chime compatibility step (tests/chime/requirements.txt)
# in the same venv: awscli 1.46 vendors its own botocore, so it leaves ministack's pin alone.
ensure_chime_tools() {
  ensure_requirements chime "installing the Chime suite's tools (AWS CLI v1, boto3, pytest)" aws
}

# The PostgreSQL server of the tests (trust auth on these machines): a URL without a database.
TEST_POSTGRES="${HOOKRELAY_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
export HOOKRELAY_TEST_POSTGRES="$TEST_POSTGRES"

# Checks that PostgreSQL answers (starting the local cluster if it is installed but stopped)
# and drops the databases that earlier test runs left behind (hr_*).
ensure_postgres() {
  if ! psql "$TEST_POSTGRES/test" -qtAc 'SELECT 1' >/dev/null 2>&1; then
    if have pg_ctlcluster && [ -d /etc/postgresql ]; then
      log "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
      sleep 2
    fi
    psql "$TEST_POSTGRES/test" -qtAc 'SELECT 1' >/dev/null || die "PostgreSQL does not answer at $TEST_POSTGRES"
  fi
  psql "$TEST_POSTGRES/test" -qtAc "SELECT datname FROM pg_database WHERE datname LIKE 'hr\_%'" |
    while read -r db; do
      [ -n "$db" ] && psql "$TEST_POSTGRES/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    done
  return 0
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts the AWS emulator bound to 127.0.0.1 on a free port; sets EMULATOR_PID and exports
# AWS_ENDPOINT_URL plus the emulator's root credentials for the tests.
start_emulator() {
  ensure_venv
  local port log_file
  port=$(free_port)
  log_file="$ROOT/target/ministack.log"
  mkdir -p "$ROOT/target"
  (cd "$ROOT/target" && AUTH=true BIND_HOST=127.0.0.1 GATEWAY_PORT="$port" \
    exec "$TOOLS_VENV/bin/ministack" >"$log_file" 2>&1) &
  EMULATOR_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  # tests that need an emulator of their own (outage: stop and restart it) start this one
  export HOOKRELAY_TEST_MINISTACK="$TOOLS_VENV/bin/ministack"
  for _ in $(seq 1 100); do
    if curl -fsS "$AWS_ENDPOINT_URL/_ministack/health" >/dev/null 2>&1; then
      log "AWS emulator up at $AWS_ENDPOINT_URL (pid $EMULATOR_PID)"
      return
    fi
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$log_file" >&2; die "the AWS emulator exited"; }
    sleep 0.2
  done
  die "the AWS emulator did not answer on $AWS_ENDPOINT_URL"
}

stop_emulator() {
  if [ -n "${EMULATOR_PID:-}" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
}

# Builds the hydrate wasm and the site directory (target/site): pkg/hookrelay.js, hookrelay_bg.wasm, hookrelay.css and public/.
build_site() {
  ensure_rust
  ensure_wasm_bindgen
  local site="$ROOT/target/site" wasm
  log "building the browser bundle (wasm)"
  (cd "$ROOT" && cargo build --quiet --lib --target wasm32-unknown-unknown \
    --no-default-features --features hydrate --profile wasm-release)
  wasm="$ROOT/target/wasm32-unknown-unknown/wasm-release/hookrelay.wasm"
  rm -rf "$site"
  mkdir -p "$site/pkg"
  wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name hookrelay "$wasm"
  # Shrink for size; the features are the ones Rust's wasm32 target emits (and wasm-bindgen's
  # externref glue needs reference types).
  ensure_wasm_opt
  log "optimising the browser bundle (wasm-opt -Oz)"
  "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$site/pkg/hookrelay_bg.opt.wasm" "$site/pkg/hookrelay_bg.wasm"
  mv "$site/pkg/hookrelay_bg.opt.wasm" "$site/pkg/hookrelay_bg.wasm"
  cp "$ROOT/style/main.css" "$site/pkg/hookrelay.css"
  cp -r "$ROOT/public/." "$site/"
  log "wasm: $(stat -c %s "$site/pkg/hookrelay_bg.wasm") bytes, $(gzip -9c "$site/pkg/hookrelay_bg.wasm" | wc -c) bytes gzip"
}

# build_server [PROFILE]: target/PROFILE/hookrelay, PROFILE `release` by default (what the tests
# drive). scripts/run.sh and scripts/bench.sh run the `dist` profile (release with whole-program
# LTO), whose code is a quarter smaller and keeps about 5 MB less of it resident; it builds
# slower, so the tests keep `release`.
build_server() {
  local profile=${1:-release}
  ensure_rust
  log "building the server ($profile)"
  (cd "$ROOT" && cargo build --quiet --profile "$profile" --bin hookrelay --features ssr)
}
