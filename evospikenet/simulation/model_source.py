"""Where the language node gets its model: the API server's newest complete model session.

A complete session holds a ``model``, a ``config`` and a ``tokenizer`` artifact, all with
``llm_type="SpikingEvoTextLM"``. Files are downloaded through the HTTP API, checked against the
sha256 the server lists, and cached by digest, so a restart does not download them again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger("evospikenet.simulation.model_source")

LLM_TYPE = "SpikingEvoTextLM"
KINDS = ("config", "model", "tokenizer")


class ModelSourceError(RuntimeError):
    """The API could not be asked, or what it answered was unusable. ``permanent`` errors
    (a refused key, a bad answer) are not worth retrying; unreachable servers are."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class ModelFiles:
    """Paths of a model's three files and where they came from."""

    config: Path
    weights: Path
    tokenizer: Path
    origin: str
    model_artifact_id: str | None = None


class ApiModelSource:
    """Finds and downloads the newest complete SpikingEvoTextLM session from ``api_url``."""

    def __init__(
        self, api_url: str, api_key: str | None, cache_dir: Path, timeout: float = 30.0
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._client = httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)
        self.cache_dir = Path(cache_dir)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _get_json(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise ModelSourceError(
                f"cannot reach the API at {self._client.base_url}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise ModelSourceError(
                f"GET {path} answered {response.status_code}: {response.text[:300]}",
                permanent=response.status_code in (400, 401, 403, 404, 422),
            )
        try:
            return response.json()
        except ValueError:
            raise ModelSourceError(f"GET {path} did not answer JSON", permanent=True) from None

    def newest_session(self) -> dict[str, dict[str, Any]] | None:
        """``{"config": artifact, "model": ..., "tokenizer": ...}`` of the newest complete
        session, or None when the API has none."""
        models = self._get_json(
            "/api/artifacts", {"artifact_type": "model", "llm_type": LLM_TYPE, "limit": 50}
        )
        seen: set[str] = set()
        for model in models:
            session_id = model["session_id"]
            if session_id in seen:
                continue
            seen.add(session_id)
            files: dict[str, dict[str, Any]] = {"model": model}
            for artifact in self._get_json(f"/api/sessions/{session_id}/artifacts", {"limit": 500}):
                kind = artifact.get("artifact_type")
                if kind in KINDS and kind not in files and artifact.get("llm_type") == LLM_TYPE:
                    files[kind] = artifact
            if all(kind in files for kind in KINDS):
                return files
        return None

    def download(self, artifact: dict[str, Any]) -> Path:
        """The artifact's bytes in the cache (downloaded and sha256-checked if missing)."""
        digest = str(artifact["sha256"]).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ModelSourceError(f"artifact {artifact['artifact_id']} has a malformed sha256")
        target = self.cache_dir / digest
        if target.is_file():
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        hasher = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self.cache_dir, prefix=".part-")
        try:
            with (
                os.fdopen(fd, "wb") as out,
                self._client.stream(
                    "GET", f"/api/artifacts/{artifact['artifact_id']}/download"
                ) as response,
            ):
                if response.status_code != 200:
                    raise ModelSourceError(
                        f"download of {artifact['artifact_id']} answered {response.status_code}"
                    )
                for chunk in response.iter_bytes(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
            if hasher.hexdigest() != digest:
                raise ModelSourceError(f"download of {artifact['artifact_id']} has a wrong sha256")
            os.replace(tmp_name, target)
        except httpx.HTTPError as exc:
            raise ModelSourceError(f"download of {artifact['artifact_id']} failed: {exc}") from exc
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return target

    def fetch(self, unless_model: str | None = None) -> ModelFiles | None:
        """The newest complete session's files, or None when the API has no model (or when
        its model artifact is ``unless_model``, the one already loaded)."""
        session = self.newest_session()
        if session is None or session["model"]["artifact_id"] == unless_model:
            return None
        paths = {kind: self.download(session[kind]) for kind in KINDS}
        model = session["model"]
        origin = f"API session {model['session_id']} (model {model['artifact_id']})"
        return ModelFiles(
            paths["config"], paths["model"], paths["tokenizer"], origin, model["artifact_id"]
        )
