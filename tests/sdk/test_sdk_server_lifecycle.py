"""Real-server situations of the document's table: a stopped server, a restart, a rate limit."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from evospikenet.sdk import APIConnectionError, EvoSpikeNetAPIClient, RateLimitError


def test_stopped_server_then_wait_for_server_after_restart(make_server: Any) -> None:
    live = make_server()
    client = EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key, max_retries=0)
    session_id = client.create_log_session("survives restarts").session_id
    live.stop()
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        client.get_session(session_id)
    assert isinstance(info.value, APIConnectionError)
    assert client.is_server_healthy() is False
    assert client.wait_for_server(timeout=0.5, interval=0.1) is False
    live.start()
    assert client.wait_for_server(timeout=30, interval=0.2) is True
    assert client.get_session(session_id).description == "survives restarts"


def test_rate_limit_is_waited_out_with_retry_after(make_server: Any) -> None:
    live = make_server(EVOSPIKENET_RATE_LIMIT_PER_MINUTE="60", EVOSPIKENET_RATE_LIMIT_BURST="2")
    client = EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key, max_retries=3)
    started = time.monotonic()
    for _ in range(4):
        client.get_simulation_status()
    elapsed = time.monotonic() - started
    stats = client.get_stats()
    assert stats.retries >= 1 and stats["status_codes"].get("429", 0) >= 1
    assert elapsed >= 0.9  # it waited as the server asked
    impatient = client.with_options(max_retries=0)
    with pytest.raises(RateLimitError) as info:
        for _ in range(5):
            impatient.get_simulation_status()
    assert info.value.code == "RATE_001" and (info.value.retry_after or 0) >= 1
