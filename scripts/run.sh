#!/usr/bin/env bash
# Run Hookrelay: installs what is missing (wasm32 target, wasm-bindgen-cli), builds the
# browser bundle and the server (profile dist: release with LTO), and starts `hookrelay serve`
# on SQLite (data in ./data). Extra arguments go to `hookrelay serve`, e.g. --listen 127.0.0.1:8080.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
build_site
build_server dist
exec "$ROOT/target/dist/hookrelay" serve --site-root "$ROOT/target/site" "$@"
