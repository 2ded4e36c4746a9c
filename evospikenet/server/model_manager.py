"""Serving models: register the bundled default, load the newest complete model session in the
background, swap atomically, keep the last good model when an upload is broken, and run
generation in a worker thread with batching of compatible concurrent requests."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.caller import ANONYMOUS, CURRENT_CALLER
from evospikenet.server.catalog import Catalog
from evospikenet.server.db import Database, isoformat, utcnow
from evospikenet.server.errors import ApiError
from evospikenet.server.fairness import FairTurns
from evospikenet.server.generation_guard import check_prompt, generation_failed, outcome
from evospikenet.server.tables import ArtifactRow, SessionRow

log = logging.getLogger("evospikenet.server.models")

LLM_TYPE = "SpikingEvoTextLM"
MODEL_FILES = {
    "config": "config.json",
    "model": "spiking_lm.pth",
    "tokenizer": "spiking_lm_tokenizer.zip",
}
CONTENT_TYPES = {
    "config": "application/json",
    "model": "application/octet-stream",
    "tokenizer": "application/zip",
}
MAX_BATCH = 8
MAX_CANDIDATES = 5
HOW_TO_PROVIDE = (
    "No model is loaded. Upload config.json (artifact_type 'config'), spiking_lm.pth ('model') "
    "and spiking_lm_tokenizer.zip ('tokenizer') under one session with llm_type "
    "'SpikingEvoTextLM' (e.g. `evospikenet train --text FILE --upload`), or start the server "
    "with the models extra installed (pip install 'evospikenet[models]') to serve the bundled "
    "default model."
)


@dataclass
class ServedModel:
    """The model being served and where it came from."""

    model: Any
    session_id: str
    artifact_ids: dict[str, str]
    bundled_default: bool
    loaded_at: datetime
    files_dir: Path

    def info(self) -> dict[str, Any]:
        """``ServerInfo.model``."""
        return {
            "llm_type": getattr(self.model, "llm_type", LLM_TYPE),
            "session_id": self.session_id,
            "artifact_ids": dict(self.artifact_ids),
            "config": dict(getattr(self.model, "config", {})),
            "bundled_default": self.bundled_default,
            "loaded_at": isoformat(self.loaded_at),
        }


@dataclass
class _Candidate:
    session_id: str
    bundled_default: bool
    artifacts: dict[str, tuple[str, str]]  # type -> (artifact_id, sha256)
    newest_pk: int


class GenerationAbandoned(Exception):
    """Raised inside generation when every request of its batch has gone: stops the model."""


@dataclass
class _Pending:
    served: ServedModel
    prompt: str
    params: dict[str, Any]
    future: asyncio.Future[Any] = field(repr=False)
    on_text: Callable[[str], None] | None = field(default=None, repr=False)
    """Called on the event loop with each decoded chunk (streaming)."""
    left: threading.Event = field(default_factory=threading.Event, repr=False)
    """Set when the request's caller stopped waiting (a client that left)."""
    caller: str = ANONYMOUS
    """Who asked (``CURRENT_CALLER``); the queue takes turns by it."""

    @property
    def batch_key(self) -> tuple[Any, ...] | None:
        if self.params.get("seed") is not None:
            return None  # seeded requests run alone so their result does not depend on others
        return (
            id(self.served),
            self.params["max_new_tokens"],
            self.params["temperature"],
            self.params.get("top_k"),
            self.params.get("repetition_penalty"),
        )


class ModelManager:
    """Owns the served model; thread-safe swaps; async ``generate``."""

    def __init__(self, database: Database, blobs: BlobStore, *, enabled: bool = True) -> None:
        self.database = database
        self.blobs = blobs
        self.enabled = enabled
        self.served: ServedModel | None = None
        self.error: str | None = None
        self.loading = False
        self._lock = threading.Lock()
        self._reload_requested = threading.Event()
        self._load_executor = ThreadPoolExecutor(1, thread_name_prefix="model-load")
        self._gen_executor = ThreadPoolExecutor(1, thread_name_prefix="model-generate")
        self._stopped = False
        self._pending: list[_Pending] = []
        self._turns = FairTurns()
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None
        self._failed_sessions: set[str] = set()
        self._loaded_callbacks: list[Callable[[ServedModel], None]] = []

    # --- availability ---------------------------------------------------------------------

    @staticmethod
    def _serving_module() -> Any:
        from evospikenet.models import serving

        return serving

    def models_available(self) -> bool:
        """Whether the models extra can be used."""
        try:
            return bool(self._serving_module().models_available())
        except ImportError:
            return False

    # --- start-up and loading -------------------------------------------------------------

    def start(self) -> None:
        """Register the bundled default if the store has no model session, then load the
        newest complete model session in the background."""
        if self._stopped:  # started again after a shutdown (an app may be started twice)
            self._load_executor = ThreadPoolExecutor(1, thread_name_prefix="model-load")
            self._gen_executor = ThreadPoolExecutor(1, thread_name_prefix="model-generate")
            self._stopped = False
        if not self.enabled:
            self.error = "model loading is disabled (EVOSPIKENET_LOAD_MODELS=false)"
            return
        if not self.models_available():
            self.error = "the models extra is not installed (pip install 'evospikenet[models]')"
            return
        self.request_reload()

    def request_reload(self) -> None:
        """Ask the loader thread to look for a newer complete model session."""
        if not self.enabled:
            return
        self._reload_requested.set()
        self._load_executor.submit(self._reload)

    def artifact_uploaded(self, artifact: dict[str, Any]) -> None:
        """Hook called after every upload: a model artifact triggers a background reload."""
        if artifact.get("llm_type") == LLM_TYPE and artifact.get("artifact_type") in MODEL_FILES:
            self.request_reload()

    def ensure_bundled_default(self) -> None:
        """If no session holds a SpikingEvoTextLM model, register the bundled default (once,
        however many servers start at once)."""
        with self.database.session() as db:
            has_model = db.scalar(
                select(ArtifactRow.pk)
                .where(ArtifactRow.llm_type == LLM_TYPE, ArtifactRow.artifact_type == "model")
                .limit(1)
            )
        if has_model is not None:
            return
        serving = self._serving_module()
        config, weights, tokenizer = serving.bundled_default_files()
        catalog = Catalog(self.database)
        artifacts: list[dict[str, Any]] = []
        session_id: str | None = None
        try:
            for kind, path in (("config", config), ("model", weights), ("tokenizer", tokenizer)):
                artifacts.append(
                    {
                        "artifact_type": kind,
                        "name": MODEL_FILES[kind],
                        "llm_type": LLM_TYPE,
                        "size": path.stat().st_size,
                        "sha256": self.blobs.put_file(path),
                        "content_type": CONTENT_TYPES[kind],
                    }
                )
            # one transaction; concurrent starts register it once (the others get None)
            session_id = catalog.register_bundled_default("bundled default model", artifacts)
        finally:
            for artifact in artifacts:
                if session_id is None:
                    self.blobs.abandon(artifact["sha256"], catalog.is_referenced)
                else:
                    self.blobs.release(artifact["sha256"])
        if session_id is not None:
            log.info("registered the bundled default model as session %s", session_id)

    def _candidates(self) -> list[_Candidate]:
        with self.database.session() as db:
            rows = db.execute(
                select(
                    ArtifactRow.pk,
                    ArtifactRow.id,
                    ArtifactRow.artifact_type,
                    ArtifactRow.sha256,
                    SessionRow.id,
                    SessionRow.bundled_default,
                )
                .join(SessionRow, SessionRow.pk == ArtifactRow.session_pk)
                .where(
                    ArtifactRow.llm_type == LLM_TYPE,
                    ArtifactRow.artifact_type.in_(tuple(MODEL_FILES)),
                )
                .order_by(ArtifactRow.pk.desc())
                .limit(3000)
            ).all()
        by_session: dict[str, _Candidate] = {}
        for pk, art_id, kind, sha, session_id, bundled in rows:
            cand = by_session.setdefault(session_id, _Candidate(session_id, bool(bundled), {}, pk))
            cand.artifacts.setdefault(kind, (art_id, sha))
        complete = [c for c in by_session.values() if len(c.artifacts) == len(MODEL_FILES)]
        return sorted(complete, key=lambda c: c.newest_pk, reverse=True)

    def _materialize(self, candidate: _Candidate) -> Path:
        folder = self.blobs.tmp_dir / f"{self.blobs.temp_prefix('model-')}{uuid.uuid4().hex}"
        folder.mkdir()
        for kind, filename in MODEL_FILES.items():
            source = self.blobs.path_for(candidate.artifacts[kind][1])
            target = folder / filename
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        return folder

    def _load(self, candidate: _Candidate) -> ServedModel:
        serving = self._serving_module()
        folder = self._materialize(candidate)
        try:
            model = serving.load_model_from_files(
                folder / MODEL_FILES["config"],
                folder / MODEL_FILES["model"],
                folder / MODEL_FILES["tokenizer"],
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return ServedModel(
            model=model,
            session_id=candidate.session_id,
            artifact_ids={kind: ids[0] for kind, ids in candidate.artifacts.items()},
            bundled_default=candidate.bundled_default,
            loaded_at=utcnow(),
            files_dir=folder,
        )

    def _reload(self) -> None:
        if not self._reload_requested.is_set():
            return  # an earlier pass already saw the newest uploads
        self._reload_requested.clear()
        self.loading = True
        try:
            if self.served is None:
                try:
                    self.ensure_bundled_default()
                except Exception as exc:
                    log.warning("bundled default model not registered: %s", exc)
                    self.error = f"bundled default model not registered: {exc}"
            current = self.served
            tried = 0
            for candidate in self._candidates():
                if current is not None and candidate.session_id == current.session_id:
                    break  # everything further is older than what is served
                if candidate.session_id in self._failed_sessions:
                    continue
                if tried >= MAX_CANDIDATES:
                    break
                tried += 1
                try:
                    served = self._load(candidate)
                except Exception as exc:
                    message = f"model session {candidate.session_id} could not be loaded: {exc}"
                    log.warning(message)
                    self.error = message
                    self._failed_sessions.add(candidate.session_id)
                    continue
                self._swap(served)
                return
        except Exception as exc:
            log.exception("model loading failed")
            self.error = f"model loading failed: {exc}"
        finally:
            self.loading = False

    def _swap(self, served: ServedModel) -> None:
        with self._lock:
            old, self.served = self.served, served
            self.error = None
        log.info("serving model session %s", served.session_id)
        if old is not None:
            shutil.rmtree(old.files_dir, ignore_errors=True)
        for callback in self._loaded_callbacks:
            callback(served)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until queued loads are done (for tests and start-up scripts)."""
        self._load_executor.submit(lambda: None).result(timeout)

    def shutdown(self) -> None:
        """Stop the worker threads."""
        self._stopped = True
        self._load_executor.shutdown(wait=False, cancel_futures=True)
        self._gen_executor.shutdown(wait=False, cancel_futures=True)

    # --- reporting --------------------------------------------------------------------

    def info(self) -> dict[str, Any] | None:
        """``ServerInfo.model``: the served model, or None."""
        served = self.served
        return None if served is None else served.info()

    def health(self) -> tuple[str, str | None]:
        """(status, detail) of the model component."""
        served = self.served
        if served is None:
            if self.loading:
                return "degraded", "loading a model"
            return "degraded", self.error or "no model loaded"
        detail = f"serving {served.session_id}"
        if self.error:
            detail += f"; newest upload not loaded: {self.error}"
            return "degraded", detail
        return "healthy", detail

    # --- generation -------------------------------------------------------------------

    def require_model(self) -> ServedModel:
        """The served model; 503 ``MODEL_002`` saying how to provide one when there is none."""
        served = self.served
        if served is None:
            detail = HOW_TO_PROVIDE if self.error is None else f"{HOW_TO_PROVIDE} ({self.error})"
            if self.loading:
                detail = "A model is being loaded; try again shortly. " + detail
            raise ApiError(503, "MODEL_002", detail, kind="no-model", headers={"Retry-After": "5"})
        return served

    def admit(self, prompt: str) -> ServedModel:
        """The model that will serve ``prompt``: 503 without one, 422 for a prompt it cannot
        take (one bad prompt must not join, and fail, a batch). Checked before a stream starts."""
        served = self.require_model()
        check_prompt(prompt)
        return served

    async def generate(
        self, prompt: str, *, on_text: Callable[[str], None] | None = None, **params: Any
    ) -> dict[str, Any]:
        """Generate for one prompt, batched with compatible concurrent requests.

        ``on_text(chunk)`` is called on the event loop with each piece of text as it is
        decoded. Cancelling the call (a client that left) stops the model once every request
        of its batch has gone.
        """
        served = self.admit(prompt)
        loop = asyncio.get_running_loop()
        pending = _Pending(served, prompt, params, loop.create_future(), on_text)
        pending.caller = CURRENT_CALLER.get()
        self._pending.append(pending)
        if not self._draining:
            self._draining = True
            self._drain_task = asyncio.create_task(self._drain())
        try:
            output = await pending.future
        except asyncio.CancelledError:
            pending.left.set()
            raise
        return {
            "generated_text": output.text,
            "prompt": prompt,
            "llm_type": getattr(served.model, "llm_type", LLM_TYPE),
            "model_session_id": served.session_id,
            "prompt_tokens": output.prompt_tokens,
            "generated_tokens": output.generated_tokens,
            "prompt_truncated": output.prompt_truncated,
        }

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                first = self._pending.pop(self._turns.pick(self._pending))  # fair across keys
                batch = [first]
                key = first.batch_key
                if key is not None:
                    for other in list(self._pending):
                        if len(batch) >= MAX_BATCH:
                            break
                        if other.batch_key == key:
                            batch.append(other)
                            self._pending.remove(other)
                batch = [p for p in batch if not p.future.cancelled()]
                if not batch:
                    continue
                params = first.params
                prompts = [p.prompt for p in batch]
                forward = _ChunkForwarder(loop, batch)
                try:
                    outputs = await loop.run_in_executor(
                        self._gen_executor,
                        functools.partial(
                            first.served.model.generate,
                            prompts,
                            on_text=forward,
                            isolate=True,
                            **params,
                        ),
                    )
                except GenerationAbandoned:
                    log.info(
                        "generation stopped after %d text chunks (of up to %d tokens): "
                        "every client left",
                        forward.most_chunks,
                        params["max_new_tokens"],
                    )
                    for p in batch:
                        p.future.cancel()
                    continue
                except Exception as exc:
                    error = generation_failed(exc)
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(error)
                    continue
                for p, output in zip(batch, outputs, strict=True):
                    failed = outcome(output)
                    if p.future.done():
                        continue
                    if failed is not None:
                        p.future.set_exception(failed)
                    else:
                        p.future.set_result(output)
        finally:
            self._draining = False


class _ChunkForwarder:
    """The model's ``on_text`` for one batch (runs in the generation thread): hands each
    request's chunks to its event loop, and stops generation once every request has gone."""

    def __init__(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending]) -> None:
        self.loop = loop
        self.batch = batch
        self.chunks = [0] * len(batch)

    @property
    def most_chunks(self) -> int:
        """Chunks produced for the longest-running request so far."""
        return max(self.chunks, default=0)

    def __call__(self, row: int, chunk: str) -> None:
        self.chunks[row] += 1
        if all(p.left.is_set() for p in self.batch):
            raise GenerationAbandoned
        pending = self.batch[row]
        if pending.on_text is not None and not pending.left.is_set():
            self.loop.call_soon_threadsafe(pending.on_text, chunk)
