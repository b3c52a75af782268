#!/usr/bin/env bash
# Benchmark Hookrelay end to end: installs what is missing (Rust components, the AWS emulator),
# builds the server as it is run (target/dist/hookrelay) and the benchmark in release mode,
# starts the emulator on a free port bound to 127.0.0.1 and runs target/release/hookrelay-bench,
# which starts its own `hookrelay serve` with a fresh data directory. It runs once per backend in BENCH_BACKENDS (default "sqlite
# postgres": SQLite in the data directory, then a fresh database on the PostgreSQL server at
# HOOKRELAY_BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432, dropped afterwards)
# and ends with both tables side by side. Extra arguments go to hookrelay-bench, e.g.
#   ./scripts/bench.sh --events 50000 --sqs-events 5000 --latency-seconds 5
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
build_server dist
log "building the benchmark (release)"
cargo build --quiet --release --features ssr --bin hookrelay-bench
start_emulator
PG_SERVER="${HOOKRELAY_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
PG_DB=""
cleanup() {
  stop_emulator
  if [ -n "$PG_DB" ]; then
    psql "$PG_SERVER/test" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

rc=0
tables=()
for backend in ${BENCH_BACKENDS:-sqlite postgres}; do
  out="target/bench-$backend.md"
  case "$backend" in
    sqlite) url="" ;;
    postgres)
      PG_DB="hr_bench_$$"
      psql "$PG_SERVER/test" -qc "CREATE DATABASE $PG_DB" >/dev/null
      url="$PG_SERVER/$PG_DB" ;;
    *) echo "unknown backend $backend in BENCH_BACKENDS (use sqlite, postgres)" >&2; exit 2 ;;
  esac
  log "benchmark on $backend"
  set +e
  target/release/hookrelay-bench --database-url "$url" "$@" | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" = 0 ] || rc=$status
  tables+=("$out")
done

# Both tables side by side: the rows are the same metrics in the same order.
if [ ${#tables[@]} -eq 2 ]; then
  echo
  echo "## Side by side"
  echo
  paste -d'\t' <(grep '^|' "${tables[0]}") <(grep '^|' "${tables[1]}") | awk -F'\t' '
    { split($1, a, "|"); split($2, b, "|")
      if (NR == 1) { print "| metric | SQLite | PostgreSQL | target |"; next }
      if (NR == 2) { print "|---|---|---|---|"; next }
      printf "|%s|%s|%s|%s|\n", a[2], a[3], b[3], a[4] }'
fi
exit "$rc"
