"""Where the language node gets its model: the very model the API server serves.

The node asks the server (``get_server_info``, through :class:`evospikenet.sdk.
EvoSpikeNetAPIClient`) which model it serves, ``model.artifact_ids`` (config, model,
tokenizer), and loads those three artifacts. So node and server answer with the same model:
a newer upload that the server could not load is not picked up by the node either.

Files live in a content-addressed cache, ``<cache_dir>/<sha256>``: a file is verified against
its digest on every use and written atomically (temp file, verify, rename), so an unchanged
model is never downloaded again and a torn or corrupt file is never loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evospikenet.sdk import (
    APIResponseValidationError,
    APIStatusError,
    EvoSpikeNetAPIClient,
    EvoSpikeNetAPIError,
)

log = logging.getLogger("evospikenet.simulation.model_source")

KINDS = ("config", "model", "tokenizer")
"""The artifacts of a model session, in the order of :attr:`ModelFiles.artifact_ids`."""
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 422})
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
STALE_TEMP_SECONDS = 3600.0
"""Temp files (``.``-names) older than this in the cache are debris of a killed download."""
T = TypeVar("T")


class ModelSourceError(RuntimeError):
    """The API could not be asked, or what it answered was unusable. ``permanent`` errors
    (a refused key, a bad answer) are not worth retrying; unreachable servers are."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class ModelFiles:
    """Paths of a model's three files and where they came from.

    ``artifact_ids`` is ``(config, model, tokenizer)`` for a model taken from the API, None for
    local files.
    """

    config: Path
    weights: Path
    tokenizer: Path
    origin: str
    artifact_ids: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class ServerModel:
    """What ``GET /api/info`` says the server serves: ``model``, or None and ``error``."""

    session_id: str | None
    artifact_ids: tuple[str, str, str] | None
    error: str | None = None


def file_sha256(path: Path) -> str:
    """The lowercase hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ContentCache:
    """Files named by the sha256 of their bytes, in one folder; verified on every read."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def get(self, digest: str) -> Path | None:
        """The file with ``digest``, or None (a file whose bytes do not match is removed)."""
        path = self.folder / digest
        if not path.is_file():
            return None
        if file_sha256(path) == digest:
            return path
        log.warning("cached file %s does not match its sha256; fetching it again", path)
        path.unlink(missing_ok=True)
        return None

    def sweep(self, older_than: float = STALE_TEMP_SECONDS) -> None:
        """Remove temp files (names starting with ``.``) left by downloads that were killed."""
        cutoff = time.time() - older_than
        for entry in self.folder.glob(".*"):
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                continue  # another node is using or removing it

    def put(self, digest: str, fill: Callable[[Path], object]) -> Path:
        """Store the bytes that ``fill(temp_path)`` writes, if their sha256 is ``digest``.

        The file appears under its digest only once complete and verified (an atomic rename);
        raises :class:`ModelSourceError` when the bytes do not match.
        """
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.sweep()
        temp = self.folder / f".part-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            fill(temp)
            actual = file_sha256(temp)
            if actual != digest:
                raise ModelSourceError(f"the downloaded bytes have sha256 {actual}, not {digest}")
            os.replace(temp, self.folder / digest)
        finally:
            temp.unlink(missing_ok=True)
        return self.folder / digest


class ApiModelSource:
    """The served model's files from the API at ``api_url`` (with ``api_key``), through the SDK.

    ``downloaded`` lists the artifact ids this source actually downloaded (cache misses).
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None,
        cache_dir: Path,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self._client = EvoSpikeNetAPIClient(
            api_url, api_key=api_key, timeout=timeout, max_retries=max_retries, progress=False
        )
        self.cache = ContentCache(Path(cache_dir))
        self.downloaded: list[str] = []

    def close(self) -> None:
        """Close the SDK client."""
        self._client.close()

    def __enter__(self) -> ApiModelSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _ask(what: str, call: Callable[[], T]) -> T:
        """``call()``, its SDK errors turned into :class:`ModelSourceError`."""
        try:
            return call()
        except APIStatusError as exc:
            permanent = exc.status_code in PERMANENT_STATUSES
            raise ModelSourceError(f"{what}: {exc}", permanent=permanent) from exc
        except APIResponseValidationError as exc:
            raise ModelSourceError(f"{what}: {exc}", permanent=True) from exc
        except EvoSpikeNetAPIError as exc:  # unreachable, timed out, integrity: worth a retry
            raise ModelSourceError(f"{what}: {exc}") from exc

    def served(self) -> ServerModel:
        """The model the server serves now (``GET /api/info``)."""
        what = "cannot ask the server which model it serves"
        info = self._ask(what, self._client.get_server_info)
        model: Any = info.get("model")
        if model is None:
            error = info.get("model_error")
            return ServerModel(None, None, None if error is None else str(error))
        try:
            ids = model["artifact_ids"]
            artifact_ids = (str(ids["config"]), str(ids["model"]), str(ids["tokenizer"]))
            return ServerModel(str(model["session_id"]), artifact_ids)
        except (KeyError, TypeError) as exc:
            raise ModelSourceError(
                f"the server's model info lacks {exc}: {model!r}", permanent=True
            ) from None

    def file(self, artifact_id: str, kind: str) -> Path:
        """Artifact ``artifact_id`` (of type ``kind``) in the cache, downloaded on a miss."""
        meta = self._ask(
            f"cannot read artifact {artifact_id}",
            lambda: self._client.get_artifact_metadata(artifact_id),
        )
        if meta.get("artifact_type") != kind:
            raise ModelSourceError(
                f"artifact {artifact_id} is a {meta.get('artifact_type')!r}, not a {kind!r}",
                permanent=True,
            )
        digest = str(meta.get("sha256", "")).lower()
        if not _SHA256.match(digest):
            raise ModelSourceError(f"artifact {artifact_id} has a malformed sha256", permanent=True)
        cached = self.cache.get(digest)
        if cached is not None:
            return cached

        def download(temp: Path) -> None:
            self._ask(
                f"download of {kind} artifact {artifact_id} failed",
                lambda: self._client.download_artifact(artifact_id, temp, progress=False),
            )

        path = self.cache.put(digest, download)
        self.downloaded.append(artifact_id)
        return path

    def files_for(self, served: ServerModel) -> ModelFiles:
        """The files of ``served`` (which must name artifacts), from the cache or the API."""
        if served.artifact_ids is None:
            raise ValueError("the server serves no model")
        config, weights, tokenizer = (
            self.file(artifact_id, kind)
            for artifact_id, kind in zip(served.artifact_ids, KINDS, strict=True)
        )
        origin = f"API session {served.session_id} (model {served.artifact_ids[1]})"
        return ModelFiles(config, weights, tokenizer, origin, served.artifact_ids)

    def fetch(self, unless: tuple[str, str, str] | None = None) -> ModelFiles | None:
        """The served model's files; None when the server serves no model, or serves the one
        whose ``artifact_ids`` are ``unless`` (the one already loaded)."""
        served = self.served()
        if served.artifact_ids is None or served.artifact_ids == unless:
            return None
        return self.files_for(served)
