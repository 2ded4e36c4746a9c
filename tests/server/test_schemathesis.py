"""Contract tests in-process: schemathesis against the ASGI app, per operation and stateful.

The store is seeded first (a tiny real model, a session with an artifact, a prompt) so that
generated requests reach real resources instead of stopping at 404.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from model_fixtures import upload_model, write_tiny_model
from st_support import prepare

from evospikenet.server.app import create_app
from evospikenet.server.settings import Settings

CONFIG = Path(__file__).with_name("schemathesis.toml")
KEY = "schemathesis-key"
HEADERS = {"X-API-Key": KEY}
HYPOTHESIS = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _settings(data_dir: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        api_keys=(KEY,),
        access_log=False,
        max_wait_seconds=0.2,
        max_upload_bytes=1024 * 1024,
        # Schemathesis sends thousands of requests with a missing or wrong key from one
        # address; the throttle of refused keys (tested in test_attack_limits.py) would turn
        # the 401s it expects into 429s.
        auth_failure_burst=1_000_000,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, database_urls):
    """A started app over a seeded data folder, and the real ids in it."""
    data_dir = tmp_path_factory.mktemp("schemathesis") / "data"
    model = write_tiny_model(tmp_path_factory.mktemp("tiny-model"))
    database_url = database_urls()
    seed_app = create_app(_settings(data_dir, database_url))
    with TestClient(seed_app, headers=HEADERS) as client:
        upload_model(client, model)
        session_id = client.post("/api/sessions", json={"description": "seed"}).json()["session_id"]
        artifact_id = client.post(
            "/api/artifacts",
            data={"session_id": session_id, "artifact_type": "dataset", "name": "seed.bin"},
            files={"file": ("seed.bin", bytes(range(256)) * 8, "application/octet-stream")},
        ).json()["artifact_id"]
        prompt_id = client.post("/api/distributed_brain/prompt", json={"prompt": "seed"}).json()[
            "prompt_id"
        ]
    app = create_app(_settings(data_dir, database_url))
    ids = {"session_id": session_id, "artifact_id": artifact_id, "prompt_id": prompt_id}
    return app, ids


def _schema(app, ids):
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=schemathesis.Config.from_path(CONFIG)
    )
    schema.config.update(headers=HEADERS)
    schema.config.update(
        parameters={"path.session_id": ids["session_id"], "path.artifact_id": ids["artifact_id"]}
    )
    return schema


def _wait_for_model(app) -> None:
    # the first request starts the app's lifespan (schemathesis keeps it running)
    with schemathesis.python.asgi.get_client(app) as client:
        client.get("http://testserver/api/health")
    app.state.server.models.wait_idle(120)
    assert app.state.server.models.served is not None, app.state.server.models.error


@pytest.fixture(scope="module")
def api_schema(seeded):
    app, ids = seeded
    schema = _schema(app, ids)
    _wait_for_model(app)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@HYPOTHESIS
def test_operations(case):
    prepare(None, case)
    case.call_and_validate(headers=HEADERS)


def test_stateful_links(seeded):
    app, ids = seeded
    schema = _schema(app, ids)
    _wait_for_model(app)
    workflow = schema.as_state_machine()
    calls: list[str] = []

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            return {"headers": HEADERS}

        def call(self, case, **kwargs):
            prepare(None, case)
            calls.append(f"{case.method} {case.operation.path}")
            return super().call(case, **kwargs)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    # the links were followed: uploads into created sessions, reads of created artifacts
    assert "POST /api/artifacts" in calls and "GET /api/artifacts/{artifact_id}" in calls, calls
    print(f"stateful: {len(calls)} calls")
