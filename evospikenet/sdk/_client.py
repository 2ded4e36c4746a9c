"""``EvoSpikeNetAPIClient``: the synchronous client of the SDK document."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar, cast
from urllib.parse import quote

from . import _operations as ops
from ._artifacts import (
    BufferSink,
    FileInput,
    FileSink,
    Sink,
    UploadBody,
    begin_body,
    extract_zip,
    prepare_upload,
    temporary_download,
)
from ._base_client import (
    Outcome,
    SyncEngine,
    new_idempotency_key,
    parse_json_body,
    shape_error,
    upload_headers,
)
from ._common import (
    OCTET_STREAM,
    ClientCore,
    check_prompt,
    failed_generation,
    is_final,
    page_size_for,
    progress_wanted,
    prompt_fields,
    resolve_destination,
)
from ._config import DEFAULT_MAX_RETRIES, Timeout
from ._errors import APIStatusError, EvoSpikeNetAPIError, NotFoundError
from ._logging import logger
from ._polling import PollPlan, check_poll_args, report
from ._progress import Progress, open_progress
from ._transport import CALL_STATE, build_http_client
from ._types import (
    Artifact,
    ClientStats,
    FailedGeneration,
    GenerateResult,
    Health,
    PromptAccepted,
    PromptResult,
    RemoteLog,
    ResponseShapeError,
    ServerInfo,
    Session,
    SimulationStatus,
    build_object,
)

__all__ = ["EvoSpikeNetAPIClient"]

T = TypeVar("T")


class EvoSpikeNetAPIClient:
    """The EvoSpikeNet API, from Python.

    ``base_url`` defaults to ``$EVOSPIKENET_API_URL`` or ``http://localhost:8000``; ``api_key``
    to ``$EVOSPIKENET_API_KEY``. ``timeout`` (seconds or a :class:`Timeout`) bounds connecting
    and each read of ordinary calls; ``transfer_timeout`` those of uploads and downloads.
    ``max_retries`` (0 disables) retries transport errors, 408, 429 and 5xx with exponential
    backoff and jitter, honouring ``Retry-After``. ``progress`` shows transfer bars (None: only
    on a terminal). Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: Timeout | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transfer_timeout: Timeout | float | None = None,
        default_headers: Mapping[str, str] | None = None,
        progress: bool | None = None,
        verify: bool | str = True,
    ) -> None:
        self._core = ClientCore(
            base_url,
            api_key,
            timeout,
            max_retries,
            transfer_timeout,
            default_headers,
            progress,
            verify,
        )
        self._http = build_http_client(self._core.config)
        self._core.generated.set_httpx_client(self._http)
        self._engine = SyncEngine(self._core.config, self._core.stats)
        self._sleep: Callable[[float], None] = time.sleep

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return self._core.config.base_url

    @property
    def max_retries(self) -> int:
        """Retries per call after a transient failure."""
        return self._core.config.max_retries

    @property
    def timeout(self) -> Timeout:
        """Timeouts of ordinary calls."""
        return self._core.config.timeout

    def __repr__(self) -> str:
        key = "set" if self._core.config.api_key else "none"
        return f"EvoSpikeNetAPIClient(base_url={self.base_url!r}, api_key={key})"

    def _call(self, op: ops.Op[T], *, max_retries: int | None = None) -> T:
        def attempt() -> Outcome:
            op.send(self._core.generated)
            state = CALL_STATE.get()
            assert state is not None and state.response is not None
            return Outcome(state.response)

        outcome = self._engine.execute(
            op.method,
            op.url,
            attempt,
            idempotency_key=op.idempotency_key,
            timeout=op.timeout,
            max_retries=max_retries,
            generated=True,
        )
        data = parse_json_body(op.method, op.url, outcome)
        try:
            return op.build(data, outcome.response.headers)
        except ResponseShapeError as exc:
            raise shape_error(op.method, op.url, outcome, exc) from None

    def with_options(self, **options: Any) -> EvoSpikeNetAPIClient:
        """A new client like this one with some settings changed (``timeout``,
        ``max_retries``, ``base_url``, ``api_key``, ``transfer_timeout``, ``default_headers``,
        ``progress``, ``verify``)."""
        return type(self)(**self._core.option_kwargs(options))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> EvoSpikeNetAPIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- health -----------------------------------------------------------------------------

    def get_health(self) -> Health:
        """``GET /api/health``: overall and per-component state (no API key needed)."""
        return self._call(ops.health())

    def is_server_healthy(self) -> bool:
        """True when the server answers and is not ``unhealthy`` (``degraded``, e.g. no model
        loaded yet, still counts as up). One attempt, no retries; never raises."""
        return self._healthy(None)

    def _healthy(self, remaining: float | None) -> bool:
        try:
            health = self._call(ops.health(self._core.health_timeout(remaining)), max_retries=0)
            return health.status in ("healthy", "degraded")
        except EvoSpikeNetAPIError as exc:
            logger.debug("health check failed: %s", exc)
            return False

    def wait_for_server(self, timeout: float = 60, interval: float = 2) -> bool:
        """Wait until :meth:`is_server_healthy`; False when ``timeout`` seconds pass first."""
        limit, pause = check_poll_args(timeout, interval)
        deadline = time.monotonic() + limit
        while True:
            if self._healthy(deadline - time.monotonic()):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._sleep(min(pause, remaining))

    def get_server_info(self) -> ServerInfo:
        """``GET /api/info``: versions, the model being served, and the server's limits."""
        info = self._call(ops.server_info())
        self._core.server_info = info
        return info

    # -- generation -------------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        max_length: int = 50,
        *,
        temperature: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> GenerateResult:
        """Continue ``prompt`` with the served model (``/api/generate``); at most
        ``max_length`` new tokens. ``result['generated_text']`` is the new text."""
        return self._call(ops.generate(prompt, max_length, temperature, top_k, seed))

    def batch_generate(
        self, prompts: list[str], max_length: int = 50
    ) -> list[GenerateResult | FailedGeneration]:
        """:meth:`generate` for each prompt, in order. A prompt that fails yields an entry
        without ``generated_text`` whose ``error`` says why; the batch goes on."""
        if isinstance(prompts, str) or not hasattr(prompts, "__iter__"):
            raise ValueError("prompts: expected a list of strings")
        results: list[GenerateResult | FailedGeneration] = []
        for prompt in prompts:
            try:
                results.append(self.generate(prompt, max_length))
            except (EvoSpikeNetAPIError, ValueError) as exc:
                logger.warning("batch_generate: prompt failed: %s", exc)
                results.append(failed_generation(prompt if isinstance(prompt, str) else "", exc))
        return results

    def with_error_handling(
        self, func: Callable[..., T], retries: int = 3, *args: Any, **kwargs: Any
    ) -> T | None:
        """Call ``func(*args, **kwargs)`` up to ``retries`` times, waiting 2^(attempt-1) s
        between attempts; None when all fail. Errors that a repeat cannot fix (400, 401, 403,
        404, 413, 422) end the attempts early; a ``ValueError`` from bad arguments propagates."""
        attempts = ops.check_int("retries", retries, minimum=1)
        for attempt in range(1, attempts + 1):
            try:
                return func(*args, **kwargs)
            except EvoSpikeNetAPIError as exc:
                logger.warning("attempt %d/%d failed: %s", attempt, attempts, exc)
                if is_final(exc):
                    return None
            if attempt < attempts:
                self._sleep(2.0 ** (attempt - 1))
        return None

    def validate_prompt(self, prompt: str) -> bool:
        """True when ``prompt`` is a non-empty string within the server's length limit;
        ValueError saying what is wrong otherwise. Sends nothing (uses cached server facts)."""
        check_prompt(prompt, self._core.max_prompt_chars())
        return True

    # -- distributed brain ------------------------------------------------------------------

    def submit_prompt(
        self,
        prompt: str | None = None,
        image_path: str | os.PathLike[str] | None = None,
        audio_path: str | os.PathLike[str] | None = None,
        *,
        priority: int | None = None,
        session_id: str | None = None,
    ) -> PromptAccepted:
        """Queue a multimodal prompt for the simulation; image and audio files are read and
        base64-encoded. ValueError when no modality is given or a file is missing."""
        text, image, audio = prompt_fields(prompt, image_path, audio_path)
        return self._call(ops.submit(text, image, audio, priority, session_id))

    def get_simulation_result(
        self, prompt_id: str | None = None, *, wait: float = 0
    ) -> PromptResult:
        """One prompt's state and result (``wait`` > 0 long-polls up to that many seconds);
        without ``prompt_id``, the most recent completed result. Reading deletes nothing."""
        read = self._core.config.timeout.read
        timeout = self._core.config.timeout.with_read(read + wait if read is not None else None)
        return self._call(ops.prompt_result(prompt_id, wait, timeout))

    def _long_poll_limit(self) -> float:
        """Seconds one result request may wait (the server's ``max_wait_seconds``, learnt once).

        0 against a server without ``/api/info`` (the original), which is then polled plainly.
        """
        if self._core.server_info is None:
            try:
                self.get_server_info()
            except NotFoundError:
                self._core.server_info = ServerInfo({})
            except APIStatusError as exc:
                logger.debug("no server info (%s); this poll runs without long-poll", exc)
                return 0.0
        return self._core.max_wait()

    def poll_for_result(
        self, prompt_id: str, timeout: float = 120, interval: float = 5
    ) -> PromptResult | None:
        """Wait for ``prompt_id`` to finish; the result (``result['response']``), or None when
        ``timeout`` seconds pass first.

        Uses the server's long-poll, so the result arrives as soon as it exists; ``interval``
        is the pause between polls only against a server that cannot long-poll. A prompt that
        failed is returned too (``state == 'failed'``, ``error`` says why; no ``response``).
        """
        ops.check_id("prompt_id", prompt_id)
        limit, pause = check_poll_args(timeout, interval)
        plan = PollPlan(limit, pause, self._long_poll_limit())
        while (wait := plan.next_wait()) is not None:
            started = time.monotonic()
            result = self.get_simulation_result(prompt_id, wait=wait)
            if result.is_terminal:
                return report(prompt_id, result)
            delay = plan.pause_after(started, wait)
            if delay is None:
                return None
            if delay:
                self._sleep(delay)
        return None

    def get_simulation_status(self) -> SimulationStatus:
        """The simulation's nodes, queue depth and last prompt state."""
        return self._call(ops.simulation_status())

    def get_remote_log(
        self, user: str, ip: str, key_path: str, log_file_path: str, *, lines: int | None = None
    ) -> RemoteLog:
        """The last lines (100 unless ``lines``) of a node's log, read by the server over SSH
        from a host its operator configured; ``result['log_content']`` holds them."""
        return self._call(ops.remote_log(user, ip, key_path, log_file_path, lines))

    # -- sessions ---------------------------------------------------------------------------

    def create_log_session(self, description: str) -> Session:
        """Start an experiment session; ``session['session_id']`` is its id."""
        return self._call(ops.new_session(description))

    def get_session(self, session_id: str) -> Session:
        """One session."""
        return self._call(ops.session(session_id))

    def iter_sessions(self, *, page_size: int | None = None) -> Iterator[Session]:
        """Every session, newest first, fetched page by page as you iterate."""
        cursor: str | None = None
        while True:
            page = self._call(ops.sessions_page(page_size, cursor))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_all_sessions(self, *, limit: int | None = None) -> list[Session]:
        """Sessions, newest first: all of them, or the newest ``limit``."""
        return _take(self.iter_sessions(page_size=page_size_for(limit)), limit)

    def get_session_artifacts(self, session_id: str, *, limit: int | None = None) -> list[Artifact]:
        """A session's artifacts, newest first: all of them, or the newest ``limit``."""
        ops.check_id("session_id", session_id)

        def pages() -> Iterator[Artifact]:
            cursor: str | None = None
            while True:
                page = self._call(
                    ops.session_artifacts_page(session_id, page_size_for(limit), cursor)
                )
                yield from page.items
                if page.next_cursor is None:
                    return
                cursor = page.next_cursor

        return _take(pages(), limit)

    # -- artifacts --------------------------------------------------------------------------

    def upload_artifact(
        self,
        session_id: str,
        artifact_type: str,
        name: str,
        file: FileInput,
        llm_type: str | None = None,
        *,
        progress: bool | None = None,
    ) -> Artifact:
        """Upload ``file`` into a session as an artifact and return its metadata.

        ``file`` may be a binary file object such as an ``io.BytesIO`` (its ``.name`` is sent
        as the file name), bytes, a file path, or a folder path (e.g. a tokenizer's
        ``save_pretrained`` folder), which is zipped. The bytes stream from disk; their sha256
        is computed first and verified by the server.
        """
        fields = ops.upload_form(session_id, artifact_type, name, llm_type)
        source = prepare_upload(file, fields["name"])
        try:
            fields["sha256"] = source.sha256
            key = new_idempotency_key()
            url = "/api/artifacts"
            with open_progress(
                progress_wanted(progress, self._core.config.progress),
                source.size,
                f"upload {source.filename}",
            ) as bar:
                body = UploadBody(source, bar)
                headers = upload_headers(key)

                def attempt() -> Outcome:
                    return Outcome(
                        self._http.post(
                            url,
                            data=fields,
                            files={"file": (source.filename, cast(IO[bytes], body), OCTET_STREAM)},
                            headers=headers,
                        )
                    )

                outcome = self._engine.execute(
                    "POST",
                    url,
                    attempt,
                    idempotency_key=key,
                    timeout=self._core.config.transfer_timeout,
                )
            try:
                artifact = build_object(Artifact, parse_json_body("POST", url, outcome))
            except ResponseShapeError as exc:
                raise shape_error("POST", url, outcome, exc) from None
            artifact.request_id = outcome.response.headers.get("x-request-id")
            return artifact
        finally:
            source.close()

    def iter_artifacts(
        self,
        artifact_type: str | None = None,
        *,
        session_id: str | None = None,
        llm_type: str | None = None,
        name: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Artifact]:
        """Every matching artifact, newest first, fetched page by page (``X-Next-Cursor``)
        as you iterate."""
        filters = ops.ArtifactFilter.of(artifact_type, session_id, llm_type, name)
        cursor: str | None = None
        while True:
            page = self._call(ops.artifacts_page(filters, page_size, cursor))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def list_artifacts(
        self,
        artifact_type: str | None = None,
        *,
        session_id: str | None = None,
        llm_type: str | None = None,
        name: str | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Stored artifacts, newest first (``[0]`` is the latest), optionally filtered.

        All matching artifacts, as the original server returned them, following the pages;
        with ``limit``, only the newest ``limit`` (fetching no more pages than needed).
        """
        if limit is not None:
            ops.check_int("limit", limit, minimum=1)
        items = self.iter_artifacts(
            artifact_type,
            session_id=session_id,
            llm_type=llm_type,
            name=name,
            page_size=page_size_for(limit),
        )
        return _take(items, limit)

    def get_artifact_metadata(self, artifact_id: str) -> Artifact:
        """One artifact's metadata (name, type, size, sha256, ...)."""
        return self._call(ops.artifact(artifact_id))

    def get_artifact(self, artifact_id: str, *, progress: bool | None = None) -> bytes:
        """An artifact's bytes, in memory, checked against the server's sha256."""
        sink = BufferSink()
        self._download(artifact_id, sink, progress)
        return sink.buffer.getvalue()

    def download_artifact(
        self,
        artifact_id: str,
        destination_path: str | os.PathLike[str],
        *,
        extract: bool = False,
        progress: bool | None = None,
    ) -> Path:
        """Download an artifact to ``destination_path`` and return that path.

        The bytes stream into a temp file beside the destination, are checked against the
        server's sha256 and length, and only then renamed into place: an interrupted or
        corrupt download never leaves a file at ``destination_path`` (an older file there
        stays untouched). A dropped connection resumes where it stopped. With ``extract``,
        a zip artifact (e.g. a tokenizer) is unpacked into the folder ``destination_path``.
        """
        destination = resolve_destination(destination_path)
        if extract:
            with temporary_download(destination.parent) as archive:
                with FileSink(archive) as sink:
                    self._download(artifact_id, sink, progress)
                    sink.commit()
                return extract_zip(archive, destination)
        with FileSink(destination) as sink:
            self._download(artifact_id, sink, progress)
            return sink.commit()

    def _download(self, artifact_id: str, sink: Sink, progress: bool | None) -> None:
        aid = ops.check_id("artifact_id", artifact_id)
        url = f"/api/artifacts/{quote(aid)}/download"
        wanted = progress_wanted(progress, self._core.config.progress)
        with open_progress(wanted, None, f"download {aid}") as bar:

            def attempt() -> Outcome:
                return self._download_attempt(url, sink, bar)

            self._engine.execute("GET", url, attempt, timeout=self._core.config.transfer_timeout)
        sink.verify(f"artifact {aid}")

    def _download_attempt(self, url: str, sink: Sink, bar: Progress) -> Outcome:
        headers = {"Accept": OCTET_STREAM, "Accept-Encoding": "identity"}
        resuming = sink.size > 0 and sink.etag is not None
        if resuming:
            headers["Range"] = f"bytes={sink.size}-"
        with self._http.stream("GET", url, headers=headers) as response:
            if response.status_code not in (200, 206):
                response.read()
                return Outcome(response)
            begin_body(sink, response, resuming, bar)
            for chunk in response.iter_bytes():
                sink.write(chunk)
                bar.update(len(chunk))
            return Outcome(response)

    # -- statistics -------------------------------------------------------------------------

    def get_stats(self) -> ClientStats:
        """Requests (HTTP attempts), errors, retries, status codes and latency percentiles."""
        return self._core.snapshot_stats()

    def reset_stats(self) -> None:
        """Start counting from zero."""
        self._core.stats.reset()


def _take(items: Iterator[T], limit: int | None) -> list[T]:
    result: list[T] = []
    for item in items:
        if limit is not None and len(result) >= limit:
            break
        result.append(item)
    return result
