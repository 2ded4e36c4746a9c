"""The SDK stands on the contract: no hand-written paths, one source for both clients, and a
field added to the spec reaches SDK users through ``make generate`` alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "evospikenet" / "sdk"
HERE = Path(__file__).resolve().parent


def test_no_api_path_is_written_in_the_sdk() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(SDK.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"""["'`]/api/""", line)
    ]
    assert not offenders, "paths come from the generated build_request:\n" + "\n".join(offenders)


def test_the_sync_client_is_derived_from_the_async_client() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _generate(spec: Path, out: Path) -> None:
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec),
            "--config",
            str(REPO / "openapi" / "generator-config.yaml"),
            "--custom-template-path",
            str(REPO / "openapi" / "templates"),
            "--meta",
            "none",
            "--fail-on-warning",
            "--output-path",
            str(out / "evospikenet_api_client"),
        ],
        check=True,
        capture_output=True,
        cwd=out,
        # Its post-hooks run the project's pinned ruff.
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )


def test_an_optional_response_field_added_to_the_spec_reaches_sdk_users(tmp_path: Path) -> None:
    spec = yaml.safe_load((REPO / "openapi" / "evospikenet.yaml").read_text(encoding="utf-8"))
    response = spec["components"]["schemas"]["GenerateResponse"]
    response["properties"]["energy_joules"] = {
        "type": "number",
        "description": "Energy the generation took.",
    }
    changed = tmp_path / "evospikenet.yaml"
    changed.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "generated"
    out.mkdir()
    _generate(changed, out)
    # The unchanged SDK, on the regenerated package, against a server that sends the field.
    code = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(out)!r}, {str(HERE)!r}]
        import evospikenet_api_client
        assert evospikenet_api_client.__file__.startswith({str(out)!r})
        from faulty_server import FaultyServer, json_reply
        from evospikenet.sdk import EvoSpikeNetAPIClient
        answer = {{
            "generated_text": "t", "prompt": "p", "llm_type": "SpikingEvoTextLM",
            "model_session_id": "ses_1", "prompt_tokens": 1, "generated_tokens": 1,
            "prompt_truncated": False, "energy_joules": 0.25,
        }}
        with FaultyServer() as server:
            server.script(json_reply(200, answer))
            result = EvoSpikeNetAPIClient(base_url=server.base_url).generate("p")
        assert result.energy_joules == 0.25, result
        assert "energy_joules" not in result.additional_properties
        assert result["energy_joules"] == 0.25 and dict(result) == answer
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
