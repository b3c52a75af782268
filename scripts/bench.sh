#!/usr/bin/env bash
# Benchmark Hookrelay end to end: installs what is missing (Rust components, the AWS emulator),
# builds the server and the benchmark in release mode, starts the emulator on a free port bound
# to 127.0.0.1 and runs target/release/hookrelay-bench, which starts its own `hookrelay serve`
# with a fresh data directory. Extra arguments go to hookrelay-bench, e.g.
#   ./scripts/bench.sh --events 50000 --sqs-events 5000 --latency-seconds 5
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
log "building the server and the benchmark (release)"
cargo build --quiet --release --features ssr --bin hookrelay --bin hookrelay-bench
start_emulator
trap stop_emulator EXIT
target/release/hookrelay-bench "$@"
