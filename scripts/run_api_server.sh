#!/usr/bin/env bash
# Start the EvoSpikeNet API server on embedded defaults (SQLite + local blob folder); no Docker.
# Usage: scripts/run_api_server.sh [--host H] [--port P] [--data-dir DIR] [--no-nodes]
# Works with or without sudo: under sudo the data folder is still owned by the invoking user.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
DATA_DIR="${EVOSPIKENET_DATA_DIR:-./.evospikenet}"
if [[ -n "${SUDO_USER:-}" && "$(id -u)" == "0" ]]; then
  # Run as the user who called sudo, so files in the data folder stay theirs.
  exec sudo -u "$SUDO_USER" --preserve-env=EVOSPIKENET_API_KEYS,EVOSPIKENET_NODE_KEYS,DATABASE_URL,EVOSPIKENET_NODES_FILE,EVOSPIKENET_ALLOW_NO_AUTH \
    "$PYTHON" -m evospikenet serve --data-dir "$DATA_DIR" "$@"
fi
exec "$PYTHON" -m evospikenet serve --data-dir "$DATA_DIR" "$@"
