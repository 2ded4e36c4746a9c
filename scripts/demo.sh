#!/usr/bin/env bash
# The main job: start `evospikenet serve` on embedded defaults (SQLite + a local blob folder) in a
# temp data dir, run the SDK document's complete workflow (examples/sdk_usage.py) against it,
# and stop the server, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"

data_dir="$(mktemp -d -t evospikenet-demo.XXXXXX)"
port="${EVOSPIKENET_DEMO_PORT:-8000}"
if ! "$BIN/python" - "$port" <<'PY'
import socket, sys
with socket.socket() as s:
    s.bind(("127.0.0.1", int(sys.argv[1])))
PY
then
    port="$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
export EVOSPIKENET_API_URL="http://127.0.0.1:${port}"

"$BIN/evospikenet" serve --host 127.0.0.1 --port "$port" --data-dir "$data_dir" \
    >"$data_dir/server.log" 2>&1 &
server_pid=$!
cleanup() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

echo "evospikenet serve on $EVOSPIKENET_API_URL (data dir $data_dir, pid $server_pid)"
if ! "$BIN/python" examples/sdk_usage.py; then
    echo "--- server log" >&2
    tail -n 50 "$data_dir/server.log" >&2
    exit 1
fi
