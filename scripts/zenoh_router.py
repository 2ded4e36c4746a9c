"""A Zenoh router for deployments without ``zenohd``: listens until SIGTERM or Ctrl-C.

    python scripts/zenoh_router.py tcp/0.0.0.0:7447

Bridges (``EVOSPIKENET_SIM_ROUTER``) and nodes (``evospikenet node --connect``) meet here.
``zenohd -l tcp/0.0.0.0:7447`` (Eclipse Zenoh's router) does the same job.
"""

from __future__ import annotations

import signal
import sys
import threading

from evospikenet.simulation.transport import open_listening


def main() -> None:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp/127.0.0.1:7447"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    session = open_listening(endpoint)  # a router-mode session: what zenohd runs
    print(f"zenoh router listening on {endpoint}", flush=True)
    stop.wait()
    session.close()


if __name__ == "__main__":
    main()
