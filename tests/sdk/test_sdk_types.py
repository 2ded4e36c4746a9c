"""``mypy --strict`` sees useful types through the SDK: the generated models' attributes, the
typed ``with_options`` and ``with_error_handling`` on both clients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

USER_CODE = """
from evospikenet.sdk import AsyncEvoSpikeNetAPIClient, EvoSpikeNetAPIClient


def use(client: EvoSpikeNetAPIClient) -> None:
    result = client.generate("p")
    reveal_type(result.generated_tokens)
    reveal_type(client.get_session("ses_1").created_at)
    reveal_type(client.get_server_info().limits.max_wait_seconds)
    reveal_type(client.list_artifacts()[0].sha256)
    reveal_type(client.with_options(max_retries=0))
    reveal_type(client.with_error_handling(client.generate, 3, "p"))


async def ause(client: AsyncEvoSpikeNetAPIClient) -> None:
    reveal_type(await client.with_error_handling(client.generate, 3, "p"))
    reveal_type(client.with_options(timeout=2))
"""
EXPECTED = [
    '"int"',
    '"datetime.datetime"',
    '"float"',
    '"str"',
    '"evospikenet.sdk._client.EvoSpikeNetAPIClient"',
    '"evospikenet_api_client.models.generate_response.GenerateResponse | None"',
    '"evospikenet_api_client.models.generate_response.GenerateResponse | None"',
    '"evospikenet.sdk._async_client.AsyncEvoSpikeNetAPIClient"',
]


def test_mypy_strict_sees_the_types_of_results_and_options(tmp_path: Path) -> None:
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE, encoding="utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("mypy")), "--strict", str(user)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    revealed = [
        line.split("Revealed type is ", 1)[1]
        for line in done.stdout.splitlines()
        if "Revealed type is" in line
    ]
    assert revealed == EXPECTED, done.stdout
    assert "error" not in done.stdout, done.stdout
