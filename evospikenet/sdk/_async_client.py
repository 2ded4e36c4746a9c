"""``AsyncEvoSpikeNetAPIClient``: the same surface as the sync client, for asyncio."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
    AsyncEngine,
    Outcome,
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
from ._transport import CALL_STATE, build_async_http_client
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

__all__ = ["AsyncEvoSpikeNetAPIClient"]

T = TypeVar("T")


async def _take(items: AsyncIterator[T], limit: int | None) -> list[T]:
    result: list[T] = []
    async for item in items:
        if limit is not None and len(result) >= limit:
            break
        result.append(item)
    return result


class AsyncEvoSpikeNetAPIClient:
    """The EvoSpikeNet API for asyncio: every method of :class:`EvoSpikeNetAPIClient`, awaited.

    Same arguments and environment variables as the sync client. Use ``async with``, or
    ``await client.aclose()``.
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
        self._http = build_async_http_client(self._core.config)
        self._core.generated.set_async_httpx_client(self._http)
        self._engine = AsyncEngine(self._core.config, self._core.stats)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

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
        return f"AsyncEvoSpikeNetAPIClient(base_url={self.base_url!r}, api_key={key})"

    async def _call(self, op: ops.Op[T], *, max_retries: int | None = None) -> T:
        async def attempt() -> Outcome:
            await op.asend(self._core.generated)
            state = CALL_STATE.get()
            assert state is not None and state.response is not None
            return Outcome(state.response)

        outcome = await self._engine.execute(
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

    def with_options(self, **options: Any) -> AsyncEvoSpikeNetAPIClient:
        """A new client like this one with some settings changed (see the sync client)."""
        return type(self)(**self._core.option_kwargs(options))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def close(self) -> None:
        """Close the connection pool (same as :meth:`aclose`)."""
        await self.aclose()

    async def __aenter__(self) -> AsyncEvoSpikeNetAPIClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- health -----------------------------------------------------------------------------

    async def get_health(self) -> Health:
        """``GET /api/health``: overall and per-component state."""
        return await self._call(ops.health())

    async def is_server_healthy(self) -> bool:
        """True when the server answers and is not ``unhealthy``; never raises."""
        return await self._healthy(None)

    async def _healthy(self, remaining: float | None) -> bool:
        try:
            health = await self._call(
                ops.health(self._core.health_timeout(remaining)), max_retries=0
            )
        except EvoSpikeNetAPIError as exc:
            logger.debug("health check failed: %s", exc)
            return False
        return health.status in ("healthy", "degraded")

    async def wait_for_server(self, timeout: float = 60, interval: float = 2) -> bool:
        """Wait until :meth:`is_server_healthy`; False when ``timeout`` seconds pass first."""
        limit, pause = check_poll_args(timeout, interval)
        deadline = time.monotonic() + limit
        while True:
            if await self._healthy(deadline - time.monotonic()):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await self._sleep(min(pause, remaining))

    async def get_server_info(self) -> ServerInfo:
        """``GET /api/info``: versions, the model being served, and the server's limits."""
        info = await self._call(ops.server_info())
        self._core.server_info = info
        return info

    # -- generation -------------------------------------------------------------------------

    async def generate(
        self,
        prompt: str,
        max_length: int = 50,
        *,
        temperature: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> GenerateResult:
        """Continue ``prompt`` with the served model; at most ``max_length`` new tokens."""
        return await self._call(ops.generate(prompt, max_length, temperature, top_k, seed))

    async def batch_generate(
        self, prompts: list[str], max_length: int = 50
    ) -> list[GenerateResult | FailedGeneration]:
        """:meth:`generate` for each prompt, in order; failures become entries with ``error``."""
        if isinstance(prompts, str) or not hasattr(prompts, "__iter__"):
            raise ValueError("prompts: expected a list of strings")
        results: list[GenerateResult | FailedGeneration] = []
        for prompt in prompts:
            try:
                results.append(await self.generate(prompt, max_length))
            except (EvoSpikeNetAPIError, ValueError) as exc:
                logger.warning("batch_generate: prompt failed: %s", exc)
                results.append(failed_generation(prompt if isinstance(prompt, str) else "", exc))
        return results

    async def with_error_handling(
        self, func: Callable[..., Any], retries: int = 3, *args: Any, **kwargs: Any
    ) -> Any:
        """Call ``func`` (sync or async) up to ``retries`` times, waiting 2^(attempt-1) s
        between attempts; None when all fail."""
        attempts = ops.check_int("retries", retries, minimum=1)
        for attempt in range(1, attempts + 1):
            try:
                result = func(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result
            except EvoSpikeNetAPIError as exc:
                logger.warning("attempt %d/%d failed: %s", attempt, attempts, exc)
                if is_final(exc):
                    return None
            if attempt < attempts:
                await self._sleep(2.0 ** (attempt - 1))
        return None

    async def validate_prompt(self, prompt: str) -> bool:
        """True when ``prompt`` is acceptable; ValueError saying what is wrong otherwise."""
        check_prompt(prompt, self._core.max_prompt_chars())
        return True

    # -- distributed brain ------------------------------------------------------------------

    async def submit_prompt(
        self,
        prompt: str | None = None,
        image_path: str | os.PathLike[str] | None = None,
        audio_path: str | os.PathLike[str] | None = None,
        *,
        priority: int | None = None,
        session_id: str | None = None,
    ) -> PromptAccepted:
        """Queue a multimodal prompt; files are read and base64-encoded."""
        text, image, audio = await asyncio.to_thread(prompt_fields, prompt, image_path, audio_path)
        return await self._call(ops.submit(text, image, audio, priority, session_id))

    async def get_simulation_result(
        self, prompt_id: str | None = None, *, wait: float = 0
    ) -> PromptResult:
        """One prompt's state and result (``wait`` > 0 long-polls)."""
        read = self._core.config.timeout.read
        timeout = self._core.config.timeout.with_read(read + wait if read is not None else None)
        return await self._call(ops.prompt_result(prompt_id, wait, timeout))

    async def _long_poll_limit(self) -> float:
        """Seconds one result request may wait (the server's ``max_wait_seconds``, learnt once).

        0 against a server without ``/api/info`` (the original), which is then polled plainly.
        """
        if self._core.server_info is None:
            try:
                await self.get_server_info()
            except NotFoundError:
                self._core.server_info = ServerInfo({})
            except APIStatusError as exc:
                logger.debug("no server info (%s); this poll runs without long-poll", exc)
                return 0.0
        return self._core.max_wait()

    async def poll_for_result(
        self, prompt_id: str, timeout: float = 120, interval: float = 5
    ) -> PromptResult | None:
        """Wait for ``prompt_id`` to finish (long-poll); the result, or None on timeout."""
        ops.check_id("prompt_id", prompt_id)
        limit, pause = check_poll_args(timeout, interval)
        plan = PollPlan(limit, pause, await self._long_poll_limit())
        while (wait := plan.next_wait()) is not None:
            started = time.monotonic()
            result = await self.get_simulation_result(prompt_id, wait=wait)
            if result.is_terminal:
                return report(prompt_id, result)
            delay = plan.pause_after(started, wait)
            if delay is None:
                return None
            if delay:
                await self._sleep(delay)
        return None

    async def get_simulation_status(self) -> SimulationStatus:
        """The simulation's nodes, queue depth and last prompt state."""
        return await self._call(ops.simulation_status())

    async def get_remote_log(
        self, user: str, ip: str, key_path: str, log_file_path: str, *, lines: int | None = None
    ) -> RemoteLog:
        """The last lines of a node's log, read by the server over SSH."""
        return await self._call(ops.remote_log(user, ip, key_path, log_file_path, lines))

    # -- sessions ---------------------------------------------------------------------------

    async def create_log_session(self, description: str) -> Session:
        """Start an experiment session."""
        return await self._call(ops.new_session(description))

    async def get_session(self, session_id: str) -> Session:
        """One session."""
        return await self._call(ops.session(session_id))

    async def iter_sessions(self, *, page_size: int | None = None) -> AsyncIterator[Session]:
        """Every session, newest first, page by page."""
        cursor: str | None = None
        while True:
            page = await self._call(ops.sessions_page(page_size, cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_all_sessions(self, *, limit: int | None = None) -> list[Session]:
        """Sessions, newest first: all of them, or the newest ``limit``."""
        return await _take(self.iter_sessions(page_size=page_size_for(limit)), limit)

    async def get_session_artifacts(
        self, session_id: str, *, limit: int | None = None
    ) -> list[Artifact]:
        """A session's artifacts, newest first: all of them, or the newest ``limit``."""
        ops.check_id("session_id", session_id)

        async def pages() -> AsyncIterator[Artifact]:
            cursor: str | None = None
            while True:
                op = ops.session_artifacts_page(session_id, page_size_for(limit), cursor)
                page = await self._call(op)
                for item in page.items:
                    yield item
                if page.next_cursor is None:
                    return
                cursor = page.next_cursor

        return await _take(pages(), limit)

    # -- artifacts --------------------------------------------------------------------------

    async def upload_artifact(
        self,
        session_id: str,
        artifact_type: str,
        name: str,
        file: FileInput,
        llm_type: str | None = None,
        *,
        progress: bool | None = None,
    ) -> Artifact:
        """Upload ``file`` (file object, bytes, file path or folder path) into a session."""
        fields = ops.upload_form(session_id, artifact_type, name, llm_type)
        source = await asyncio.to_thread(prepare_upload, file, fields["name"])
        try:
            fields["sha256"] = source.sha256
            key = new_idempotency_key()
            url = "/api/artifacts"
            wanted = progress_wanted(progress, self._core.config.progress)
            with open_progress(wanted, source.size, f"upload {source.filename}") as bar:
                body = UploadBody(source, bar)
                part = (source.filename, cast(IO[bytes], body), OCTET_STREAM)
                headers = upload_headers(key)

                async def attempt() -> Outcome:
                    response = await self._http.post(
                        url, data=fields, files={"file": part}, headers=headers
                    )
                    return Outcome(response)

                outcome = await self._engine.execute(
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

    async def iter_artifacts(
        self,
        artifact_type: str | None = None,
        *,
        session_id: str | None = None,
        llm_type: str | None = None,
        name: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Artifact]:
        """Every matching artifact, newest first, page by page."""
        filters = ops.ArtifactFilter.of(artifact_type, session_id, llm_type, name)
        cursor: str | None = None
        while True:
            page = await self._call(ops.artifacts_page(filters, page_size, cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def list_artifacts(
        self,
        artifact_type: str | None = None,
        *,
        session_id: str | None = None,
        llm_type: str | None = None,
        name: str | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Stored artifacts, newest first: all matching, or the newest ``limit``."""
        if limit is not None:
            ops.check_int("limit", limit, minimum=1)
        items = self.iter_artifacts(
            artifact_type,
            session_id=session_id,
            llm_type=llm_type,
            name=name,
            page_size=page_size_for(limit),
        )
        return await _take(items, limit)

    async def get_artifact_metadata(self, artifact_id: str) -> Artifact:
        """One artifact's metadata."""
        return await self._call(ops.artifact(artifact_id))

    async def get_artifact(self, artifact_id: str, *, progress: bool | None = None) -> bytes:
        """An artifact's bytes, in memory, checked against the server's sha256."""
        sink = BufferSink()
        await self._download(artifact_id, sink, progress)
        return sink.buffer.getvalue()

    async def download_artifact(
        self,
        artifact_id: str,
        destination_path: str | os.PathLike[str],
        *,
        extract: bool = False,
        progress: bool | None = None,
    ) -> Path:
        """Download an artifact to ``destination_path`` atomically (see the sync client)."""
        destination = resolve_destination(destination_path)
        if extract:
            with temporary_download(destination.parent) as archive:
                with FileSink(archive) as sink:
                    await self._download(artifact_id, sink, progress)
                    sink.commit()
                return await asyncio.to_thread(extract_zip, archive, destination)
        with FileSink(destination) as sink:
            await self._download(artifact_id, sink, progress)
            return sink.commit()

    async def _download(self, artifact_id: str, sink: Sink, progress: bool | None) -> None:
        aid = ops.check_id("artifact_id", artifact_id)
        url = f"/api/artifacts/{quote(aid)}/download"
        wanted = progress_wanted(progress, self._core.config.progress)
        with open_progress(wanted, None, f"download {aid}") as bar:

            async def attempt() -> Outcome:
                return await self._download_attempt(url, sink, bar)

            await self._engine.execute(
                "GET", url, attempt, timeout=self._core.config.transfer_timeout
            )
        sink.verify(f"artifact {aid}")

    async def _download_attempt(self, url: str, sink: Sink, bar: Progress) -> Outcome:
        headers = {"Accept": OCTET_STREAM, "Accept-Encoding": "identity"}
        resuming = sink.size > 0 and sink.etag is not None
        if resuming:
            headers["Range"] = f"bytes={sink.size}-"
        async with self._http.stream("GET", url, headers=headers) as response:
            if response.status_code not in (200, 206):
                await response.aread()
                return Outcome(response)
            begin_body(sink, response, resuming, bar)
            async for chunk in response.aiter_bytes():
                sink.write(chunk)
                bar.update(len(chunk))
            return Outcome(response)

    # -- statistics -------------------------------------------------------------------------

    async def get_stats(self) -> ClientStats:
        """Requests, errors, retries, status codes and latency percentiles."""
        return self._core.snapshot_stats()

    async def reset_stats(self) -> None:
        """Start counting from zero."""
        self._core.stats.reset()
