# Shared plumbing of the end-to-end suites (tests/sdk, tests/openapi, tests/chime run.sh): a
# work dir, `hookrelay app create`, `hookrelay serve` on a free 127.0.0.1 port, the wait for
# GET /healthz and the cleanup that stops the server and keeps the logs when something failed.
#
# Sourced, not run. Set SUITE (the log prefix and the work dir's name: sdk, openapi, chime)
# before sourcing; the helpers then read the suite's own variables by that name:
#   ${SUITE^^}_PYTHON  the python that free_port and app_field run (e.g. SDK_PYTHON)
#   ${SUITE^^}_KEEP    when set, the work dir is kept even when the suite passed (e.g. CHIME_KEEP)
# Typical use, after checking the environment:
#   suite_workdir; create_app APP_JSON "My tests"; start_server; wait_healthy
# Every helper is `set -euo pipefail`-safe and dies (exit 1, message on stderr) on failure.

: "${SUITE:?set SUITE before sourcing tests/lib/server.sh}"

log() { printf '\033[1;34m==>\033[0m [%s] %s\n' "$SUITE" "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m [%s] %s\n' "$SUITE" "$*" >&2; exit 1; }

# need_env VAR...: dies naming the first VAR that is unset or empty.
need_env() {
  local var
  for var in "$@"; do
    [ -n "${!var:-}" ] || die "$var is not set"
  done
}

# need_executable VAR: dies unless the file VAR names is executable.
need_executable() {
  [ -x "${!1}" ] || die "$1 is not executable: ${!1}"
}

# need_command VAR: dies unless VAR names an executable file or a command on PATH.
need_command() {
  [ -x "${!1}" ] || command -v "${!1}" >/dev/null || die "$1 not found: ${!1}"
}

# The suite's python (${SUITE^^}_PYTHON).
suite_python() {
  local var="${SUITE^^}_PYTHON"
  printf '%s\n' "${!var}"
}

# suite_workdir [KEPT]: creates the work dir and sets WORK, DATA_DIR (the server's data) and
# SERVER_LOG; installs the EXIT trap (suite_cleanup) and INT/TERM traps (exit 130/143).
# KEPT says what a kept work dir holds, in the line "KEPT kept in DIR" (default: logs).
suite_workdir() {
  SUITE_KEPT="${1:-logs}"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-$SUITE.XXXXXX")
  DATA_DIR="$WORK/data"
  SERVER_LOG="$WORK/server.log"
  SERVER_PID=""
  trap suite_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# The EXIT trap: stops the server (SIGTERM, up to 5 s, then SIGKILL); on failure prints the
# last 40 lines of the server log; removes the work dir unless the suite failed or
# ${SUITE^^}_KEEP is set; exits with the suite's status.
suite_cleanup() {
  local rc=$?
  local keep_var="${SUITE^^}_KEEP"
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ] && [ -s "$SERVER_LOG" ]; then
    log "last lines of the server log ($SERVER_LOG):"
    tail -n 40 "$SERVER_LOG" >&2 || true
  fi
  if [ "$rc" = 0 ] && [ -z "${!keep_var:-}" ]; then rm -rf "$WORK"; else log "$SUITE_KEPT kept in $WORK"; fi
  exit "$rc"
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
  "$(suite_python)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# create_app VAR NAME: `hookrelay app create --name NAME` in DATA_DIR; its JSON goes to VAR,
# its stderr to SERVER_LOG.
create_app() {
  local json
  json=$("$HOOKRELAY_BIN" app create --name "$2" --data-dir "$DATA_DIR" 2>>"$SERVER_LOG") ||
    die "hookrelay app create failed"
  printf -v "$1" '%s' "$json"
}

# app_field FIELD: prints FIELD of the JSON object on stdin (e.g. app_field api_key <<<"$APP_JSON").
app_field() {
  "$(suite_python)" -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"
}

# start_server [NAME=VALUE...] [SERVE_ARG...]: starts `hookrelay serve` in the background from
# ROOT on a free port with DATA_DIR and --allow-private-targets, plus the SERVE_ARGs, its
# output appended to SERVER_LOG. The leading NAME=VALUE pairs go to the server's environment
# only; otherwise it inherits the suite's. Sets PORT, SERVER_PID and SERVER_URL.
start_server() {
  local assignments=()
  while [ "$#" -gt 0 ] && [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
    assignments+=("$1")
    shift
  done
  PORT=$(free_port)
  log "starting hookrelay on 127.0.0.1:$PORT (data in $DATA_DIR)"
  (
    cd "$ROOT"
    if [ "${#assignments[@]}" -gt 0 ]; then export "${assignments[@]}"; fi
    exec "$HOOKRELAY_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" --allow-private-targets "$@"
  ) >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  SERVER_URL="http://127.0.0.1:$PORT"
}

# Waits up to 30 s for GET SERVER_URL/healthz to answer 200; dies if the server exits first.
wait_healthy() {
  local deadline=$((SECONDS + 30))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$SERVER_URL/healthz" || true)" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "hookrelay serve exited"
    [ "$SECONDS" -lt "$deadline" ] || die "hookrelay did not answer GET /healthz with 200 within 30 s"
    sleep 0.2
  done
  log "hookrelay is up at $SERVER_URL"
}
