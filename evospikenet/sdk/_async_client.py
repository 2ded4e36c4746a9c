"""``AsyncEvoSpikeNetAPIClient``, and the engine that sends its calls with retries."""

# This file is the source of both clients: scripts/unasync.py derives _client.py  # async only
# (EvoSpikeNetAPIClient) from it (`make generate`; a test fails on drift). Lines  # async only
# marked "async only" (or between "async only: begin" and "end") are left out of the  # async only
# sync client.  # async only

from __future__ import annotations

import asyncio  # async only
import inspect  # async only
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast, overload

import httpx

from . import _operations as ops
from ._artifacts import (
    AsyncUploadStream,
    BufferSink,
    FileInput,
    FileSink,
    Sink,
    begin_body,
    extract_zip,
    prepare_upload,
    receive_body_async,
    temporary_download,
)
from ._base_client import EngineBase, http_client_kwargs
from ._common import (
    ClientCore,
    check_prompt,
    failed_generation,
    is_final,
    page_size_for,
    progress_wanted,
    prompt_fields,
    resolve_destination,
)
from ._config import DEFAULT_MAX_RETRIES, NOT_GIVEN, ClientConfig, NotGiven, Timeout
from ._errors import APIStatusError, EvoSpikeNetAPIError, NotFoundError
from ._logging import logger
from ._models import (
    Artifact,
    ClientStats,
    FailedGeneration,
    GenerateResult,
    Health,
    PromptAccepted,
    PromptResult,
    RemoteLog,
    ServerInfo,
    Session,
    SimulationStatus,
)
from ._polling import PollPlan, check_poll_args, report
from ._progress import Progress, open_progress
from ._sendfile import with_sendfile_uploads
from ._stats import RequestStats
from ._streaming import GenerateChunk, GenerationEvents

__all__ = ["AsyncEngine", "AsyncEvoSpikeNetAPIClient", "AsyncGenerateStream"]

T = TypeVar("T")


class AsyncEngine(EngineBase):
    """Sends one logical call, retrying what the policy allows, on ``http``; raises SDK errors."""

    def __init__(
        self,
        config: ClientConfig,
        stats: RequestStats,
        http: httpx.AsyncClient,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(config, stats)
        self.http = http
        self.sleep = sleep

    async def call(self, op: ops.Op[T]) -> T:
        """Send ``op`` and return its decoded answer."""
        return self.decode(op, await self.send(op))

    async def send(
        self,
        op: ops.Op[Any],
        attempt: Callable[[], Awaitable[httpx.Response]] | None = None,
    ) -> httpx.Response:
        """The successful answer to ``op``, after retries; ``attempt`` replaces the plain
        request (a download streams its body inside it)."""
        if attempt is None:
            kwargs = self.prepare(op)

            async def attempt() -> httpx.Response:
                return await self.http.request(**kwargs)

        retry_index = 0
        while True:
            started = time.perf_counter()
            response: httpx.Response | None = None
            try:
                response = await attempt()
                error = self.finish(op, response, started, retry_index)
            except httpx.HTTPError as exc:
                error = self.failed(op, exc, started, retry_index)
            if error is None:
                assert response is not None
                return response
            delay = self.next_delay(op, retry_index, error, response)
            if delay is None:
                raise self.give_up(error)
            self.will_retry(op, delay, error)
            await self.sleep(delay)
            retry_index += 1

    async def open_stream(self, op: ops.Op[Any]) -> httpx.Response:
        """The successful answer to ``op`` with its body not read yet; retries happen only
        before that answer (never once its body has begun)."""
        kwargs = self.prepare(op)

        async def attempt() -> httpx.Response:
            response = await self.http.send(self.http.build_request(**kwargs), stream=True)
            if response.status_code >= 400:
                try:
                    await response.aread()  # the problem body, for the error
                finally:
                    await response.aclose()
            return response

        return await self.send(op, attempt)


class AsyncClosable:
    """``async with`` for an object with ``aclose``: the block's end closes it."""

    async def aclose(self) -> None:
        """Release what the object holds."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncGenerateStream(AsyncClosable):
    """One streamed generation (:meth:`AsyncEvoSpikeNetAPIClient.stream_generate`).

    Iterate it for :class:`GenerateChunk` events (``chunk.text``) as the server decodes them;
    once the loop ends, ``result`` is the :class:`GenerateResult` that ``generate`` would have
    returned. The request is sent when iteration begins, and retried only before the server's
    answer begins. An error after that raises (an ``error`` event raises the SDK error of its
    status). Leaving the loop early or the ``with`` block closes the connection, and the
    server stops generating.
    """

    def __init__(self, engine: AsyncEngine, op: ops.Op[None]) -> None:
        self._engine = engine
        self._op = op
        self._response: httpx.Response | None = None
        self._iterated = False
        self.result: GenerateResult | None = None
        """The whole generation's result, once the last chunk has been read."""

    def __aiter__(self) -> AsyncIterator[GenerateChunk]:
        if self._iterated:
            raise RuntimeError("a generation stream can be iterated only once")
        self._iterated = True
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[GenerateChunk]:
        response = self._response = await self._engine.open_stream(self._op)
        events = GenerationEvents(
            self._op, response, strict=self._engine.config.strict_response_validation
        )
        try:
            try:
                async for data in response.aiter_bytes():
                    for chunk in events.feed(data):
                        yield chunk
            except httpx.HTTPError as exc:
                raise self._engine.broken_stream(self._op, exc) from exc
            events.end()
            self.result = events.result
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection; a generation still running on the server stops."""
        if self._response is not None:
            await self._response.aclose()


async def _take(items: AsyncIterator[T], limit: int | None) -> list[T]:
    result: list[T] = []
    async for item in items:
        if limit is not None and len(result) >= limit:
            break
        result.append(item)
    return result


class AsyncEvoSpikeNetAPIClient(AsyncClosable):
    """The EvoSpikeNet API, from Python.

    ``base_url`` defaults to ``$EVOSPIKENET_API_URL`` or ``http://localhost:8000``; ``api_key``
    to ``$EVOSPIKENET_API_KEY``. ``timeout`` (seconds or a :class:`Timeout`) bounds connecting
    and each read of ordinary calls; ``transfer_timeout`` those of uploads and downloads.
    ``max_retries`` (0 disables) retries transport errors, 408, 429 and 5xx with exponential
    backoff and jitter, honouring ``Retry-After``. ``progress`` shows transfer bars (None: only
    on a terminal). ``http_client`` is an httpx client of your own (proxies, TLS, limits, event
    hooks); the SDK sends every request with its own URL, headers and timeout through it and
    never closes it. ``strict_response_validation`` checks every answer against the whole
    contract (APIResponseValidationError naming what is missing or wrong); by default only the
    fields that identify a result are required, so leaner answers get through and an absent
    field raises ``AttributeError`` when read. Use it as a context manager, or call
    :meth:`aclose`.
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
        http_client: httpx.AsyncClient | None = None,
        strict_response_validation: bool = False,
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
            strict_response_validation,
        )
        self._own_http = http_client is None
        self._http_client = http_client
        http = http_client or with_sendfile_uploads(
            httpx.AsyncClient(**http_client_kwargs(self._core.config))
        )
        self._engine = AsyncEngine(self._core.config, self._core.stats, http)
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
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key})"

    def with_options(
        self,
        *,
        base_url: str | NotGiven = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        transfer_timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        progress: bool | NotGiven | None = NOT_GIVEN,
        verify: bool | str | NotGiven = NOT_GIVEN,
        http_client: httpx.AsyncClient | NotGiven | None = NOT_GIVEN,
        strict_response_validation: bool | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A new client like this one with the given settings changed. It shares this
        client's ``http_client`` when one was passed in, else makes its own pool."""
        kwargs = self._core.option_kwargs(
            {
                "base_url": base_url,
                "api_key": api_key,
                "timeout": timeout,
                "max_retries": max_retries,
                "transfer_timeout": transfer_timeout,
                "default_headers": default_headers,
                "progress": progress,
                "verify": verify,
                "strict_response_validation": strict_response_validation,
            }
        )
        client = self._http_client if isinstance(http_client, NotGiven) else http_client
        return type(self)(**kwargs, http_client=client)

    async def aclose(self) -> None:
        """Close the connection pool (not an ``http_client`` passed in)."""
        if self._own_http:
            await self._engine.http.aclose()

    async def close(self) -> None:  # async only
        """The same as :meth:`aclose`."""  # async only
        await self.aclose()  # async only

    # -- health -----------------------------------------------------------------------------

    async def get_health(self) -> Health:
        """Overall and per-component state (``getHealth``; no API key needed)."""
        return await self._engine.call(ops.health())

    async def is_server_healthy(self) -> bool:
        """True when the server answers and is not ``unhealthy`` (``degraded``, e.g. no model
        loaded yet, still counts as up). One attempt, no retries; never raises."""
        return await self._healthy(None)

    async def _healthy(self, remaining: float | None) -> bool:
        try:
            op = ops.health(self._core.health_timeout(remaining), max_retries=0)
            health = await self._engine.call(op)
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
        """Versions, the model being served, and the server's limits (``getServerInfo``)."""
        info = await self._engine.call(ops.server_info())
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
        repetition_penalty: float | None = None,
    ) -> GenerateResult:
        """Continue ``prompt`` with the served model (``generateText``); at most
        ``max_length`` new tokens. ``result['generated_text']`` is the new text.

        Sampling fields left as None take the server's defaults. ``repetition_penalty`` (1-2)
        makes tokens the answer has already produced less likely; None takes the served
        model's own default (the bundled model's is in ``docs/models.md``)."""
        sampling = ops.Sampling.of(temperature, top_k, seed, repetition_penalty)
        return await self._engine.call(ops.generate(prompt, max_length, sampling))

    def stream_generate(
        self,
        prompt: str,
        max_length: int = 50,
        *,
        temperature: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
        repetition_penalty: float | None = None,
    ) -> AsyncGenerateStream:
        """:meth:`generate`, streamed: iterate the returned stream for :class:`GenerateChunk`
        events as text is decoded; its ``result`` is the :meth:`generate` result afterwards::

            async with client.stream_generate("人工知能とは", 100) as stream:
                async for chunk in stream:
                    print(chunk.text, end="", flush=True)
            print(stream.result.generated_tokens)

        Breaking out of the loop closes the connection and the server stops generating.
        """
        sampling = ops.Sampling.of(temperature, top_k, seed, repetition_penalty)
        op = ops.generate_stream(prompt, max_length, sampling)
        return AsyncGenerateStream(self._engine, op)

    async def batch_generate(
        self, prompts: list[str], max_length: int = 50
    ) -> list[GenerateResult | FailedGeneration]:
        """:meth:`generate` for each prompt, in order. A prompt that fails yields an entry
        without ``generated_text`` whose ``error`` says why; the batch goes on."""
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

    # async only: begin
    @overload
    async def with_error_handling(
        self, func: Callable[..., Awaitable[T]], retries: int = 3, *args: Any, **kwargs: Any
    ) -> T | None: ...

    @overload
    async def with_error_handling(
        self, func: Callable[..., T], retries: int = 3, *args: Any, **kwargs: Any
    ) -> T | None: ...

    # async only: end
    async def with_error_handling(
        self, func: Callable[..., Awaitable[T] | T], retries: int = 3, *args: Any, **kwargs: Any
    ) -> T | None:
        """Call ``func(*args, **kwargs)`` up to ``retries`` times, waiting 2^(attempt-1) s
        between attempts; None when all fail. Errors that a repeat cannot fix (400, 401, 403,
        404, 413, 422) end the attempts early; a ``ValueError`` from bad arguments propagates.
        On the async client ``func`` may also be a coroutine function: its result is awaited."""
        attempts = ops.check_int("retries", retries, minimum=1)
        for attempt in range(1, attempts + 1):
            try:
                result = func(*args, **kwargs)
                if inspect.isawaitable(result):  # async only
                    return cast(T, await result)  # async only
                return result
            except EvoSpikeNetAPIError as exc:
                logger.warning("attempt %d/%d failed: %s", attempt, attempts, exc)
                if is_final(exc):
                    return None
            if attempt < attempts:
                await self._sleep(2.0 ** (attempt - 1))
        return None

    def validate_prompt(self, prompt: str) -> bool:
        """True when ``prompt`` is a non-empty string within the server's length limit;
        ValueError saying what is wrong otherwise. Sends nothing (uses cached server facts)."""
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
        """Queue a multimodal prompt for the simulation; image and audio files are read and
        base64-encoded. ValueError when no modality is given or a file is missing."""
        text, image, audio = await asyncio.to_thread(prompt_fields, prompt, image_path, audio_path)
        return await self._engine.call(ops.submit(text, image, audio, priority, session_id))

    async def get_simulation_result(
        self, prompt_id: str | None = None, *, wait: float = 0
    ) -> PromptResult:
        """One prompt's state and result (``wait`` > 0 long-polls up to that many seconds);
        without ``prompt_id``, the most recent completed result. Reading deletes nothing."""
        read = self._core.config.timeout.read
        timeout = self._core.config.timeout.with_read(read + wait if read is not None else None)
        return await self._engine.call(ops.prompt_result(prompt_id, wait, timeout))

    async def _long_poll_limit(self) -> float:
        """Seconds one result request may wait (the server's ``max_wait_seconds``, learnt once).

        0 against a server without ``getServerInfo`` (the original), which is then polled plainly.
        """
        if self._core.server_info is None and not self._core.no_server_info:
            try:
                await self.get_server_info()
            except NotFoundError:
                self._core.no_server_info = True
            except APIStatusError as exc:
                logger.debug("no server info (%s); this poll runs without long-poll", exc)
                return 0.0
        return self._core.max_wait()

    async def poll_for_result(
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
        return await self._engine.call(ops.simulation_status())

    async def get_remote_log(
        self, user: str, ip: str, key_path: str, log_file_path: str, *, lines: int | None = None
    ) -> RemoteLog:
        """The last lines (100 unless ``lines``) of a node's log, read by the server over SSH
        from a host its operator configured; ``result['log_content']`` holds them."""
        return await self._engine.call(ops.remote_log(user, ip, key_path, log_file_path, lines))

    # -- sessions ---------------------------------------------------------------------------

    async def create_log_session(self, description: str) -> Session:
        """Start an experiment session; ``session['session_id']`` is its id."""
        return await self._engine.call(ops.new_session(description))

    async def get_session(self, session_id: str) -> Session:
        """One session."""
        return await self._engine.call(ops.session(session_id))

    async def iter_sessions(self, *, page_size: int | None = None) -> AsyncIterator[Session]:
        """Every session, newest first, fetched page by page as you iterate."""
        cursor: str | None = None
        while True:
            page = await self._engine.call(ops.sessions_page(page_size, cursor))
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
                page = await self._engine.call(op)
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
        """Upload ``file`` into a session as an artifact and return its metadata.

        ``file`` may be a binary file object such as an ``io.BytesIO`` (its ``.name`` is sent
        as the file name), bytes, a file path, or a folder path (e.g. a tokenizer's
        ``save_pretrained`` folder), which is zipped. The bytes stream from disk in one pass:
        their sha256 is computed while they are sent, follows them, and is verified by the
        server before it stores anything.
        """
        form = ops.UploadForm.of(session_id, artifact_type, name, llm_type)
        source = await asyncio.to_thread(prepare_upload, file, form.name)
        try:
            wanted = progress_wanted(progress, self._core.config.progress)
            with open_progress(wanted, source.size, f"upload {source.filename}") as bar:
                timeout = self._core.config.transfer_timeout
                op = ops.upload(form, source, bar, AsyncUploadStream, timeout)
                return await self._engine.call(op)
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
        """Every matching artifact, newest first, fetched page by page (``X-Next-Cursor``)
        as you iterate."""
        filters = ops.ArtifactFilter.of(artifact_type, session_id, llm_type, name)
        cursor: str | None = None
        while True:
            page = await self._engine.call(ops.artifacts_page(filters, page_size, cursor))
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
        return await _take(items, limit)

    async def get_artifact_metadata(self, artifact_id: str) -> Artifact:
        """One artifact's metadata (name, type, size, sha256, ...)."""
        return await self._engine.call(ops.artifact(artifact_id))

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
                with await asyncio.to_thread(FileSink, archive) as sink:
                    await self._download(artifact_id, sink, progress)
                    await asyncio.to_thread(sink.commit)
                return await asyncio.to_thread(extract_zip, archive, destination)
        with await asyncio.to_thread(FileSink, destination) as sink:
            await self._download(artifact_id, sink, progress)
            return await asyncio.to_thread(sink.commit)

    async def _download(self, artifact_id: str, sink: Sink, progress: bool | None) -> None:
        """Stream the artifact into ``sink`` (its workers hash and store each chunk while the
        next one arrives), resuming with ``Range`` after a dropped connection; check it."""
        aid = ops.check_id("artifact_id", artifact_id)
        timeout = self._core.config.transfer_timeout
        wanted = progress_wanted(progress, self._core.config.progress)
        try:
            with open_progress(wanted, None, f"download {aid}") as bar:

                async def attempt() -> httpx.Response:
                    return await self._download_attempt(aid, timeout, sink, bar)

                await self._engine.send(ops.download(aid, 0, timeout), attempt)
            await asyncio.to_thread(sink.verify, f"artifact {aid}")
        finally:
            await asyncio.to_thread(sink.close)

    async def _download_attempt(
        self, aid: str, timeout: Timeout, sink: Sink, bar: Progress
    ) -> httpx.Response:
        resuming = sink.size > 0 and sink.etag is not None
        op = ops.download(aid, sink.size if resuming else 0, timeout)
        async with self._engine.http.stream(**self._engine.prepare(op)) as response:
            if response.status_code not in (200, 206):
                await response.aread()
                return response
            begin_body(sink, response, resuming, bar)
            await receive_body_async(response, sink, bar)
            return response

    # -- statistics -------------------------------------------------------------------------

    def get_stats(self) -> ClientStats:
        """Requests (HTTP attempts), errors, retries, status codes and latency percentiles."""
        return self._core.snapshot_stats()

    def reset_stats(self) -> None:
        """Start counting from zero."""
        self._core.stats.reset()
