"""``Idempotency-Key`` for every POST: the same key and body within the TTL replays the first
response; the same key with another body → 422 ``IDEM_001``; a key whose first request is still
running → 409 ``IDEM_002`` (with Retry-After), chosen over waiting so no request hangs.

Keys are scoped by the caller's identity (``caller.identify``, the answer auth gives too). The
body's fingerprint covers method, path and bytes, hashed while the body streams to the handler
(uploads are not buffered) with XXH3-128 (see ``_fingerprint_start``). A request carrying
the header twice is refused with 422.
Only 2xx answers are stored; any other outcome forgets the key so the client may retry (so
does a 2xx answer whose handler marked it a failure, see ``mark_failed``).

Several processes share the table. A claim is one ``INSERT … ON CONFLICT DO NOTHING``; the row
names its ``owner`` (the request) and carries a lease that the owner's process renews while
the request runs. Only the owner stores or releases its row; a row whose lease ran out (its
process died) may be taken over by the next request with that key. A start deletes nothing.
Leases, the TTL and the purge's cut-off are the database's clock (``Database.now``), so
processes whose clocks disagree agree on which claims ran out.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from typing import Any

import xxhash
from sqlalchemy import ColumnElement, CursorResult, and_, delete, or_, select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evospikenet.server.caller import identify
from evospikenet.server.db import Database, delete_in_pages, insert
from evospikenet.server.errors import ApiError, problem_response
from evospikenet.server.spec import spec_node
from evospikenet.server.tables import IdempotencyRow

KEY_PATTERN: str = spec_node("components", "parameters", "IdempotencyKey", "schema", "pattern")
"""The contract's ``Idempotency-Key`` pattern; keys that do not match it are left to the
handler, whose parameter check answers 422."""
_KEY = re.compile(KEY_PATTERN)
MAX_STORED_BODY = 1024 * 1024
_REPLAYED_HEADERS = {"content-type", "location", "x-next-cursor", "link", "retry-after"}
_FAILED = "idempotency_failed"
LEASE_SECONDS = 60.0
"""How long an in-flight claim stays valid without renewal (renewed every third of it)."""


def mark_failed(scope: Scope) -> None:
    """Record that this request failed although its status is 2xx (a streamed answer that
    ended with an error event): its key is then released, not replayed."""
    scope.setdefault("state", {})[_FAILED] = True


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


class IdempotencyStore:
    """Rows of ``idempotency_keys``; ``renew_leases`` must run every second or so."""

    def __init__(
        self, database: Database, ttl_seconds: float, *, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.database = database
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._renewed = time.monotonic()

    @staticmethod
    def new_owner() -> str:
        """A fresh owner token for one request."""
        return uuid.uuid4().hex

    def expired(self) -> tuple[ColumnElement[bool], ...]:
        """Keys past the TTL (``ix_idempotency_keys_created_at``), except in-flight ones whose
        lease is still renewed."""
        return (
            IdempotencyRow.created_at < self.database.now(-self.ttl_seconds),
            or_(
                IdempotencyRow.state != "in_flight",
                IdempotencyRow.lease_expires_at.is_(None),
                IdempotencyRow.lease_expires_at < self.database.now(),
            ),
        )

    def purge_expired(self) -> int:
        """Forget the ``expired`` keys, 1,000 per transaction; returns how many."""
        return delete_in_pages(
            self.database, [IdempotencyRow.scope, IdempotencyRow.key], *self.expired()
        )

    def _takeable(self) -> ColumnElement[bool]:
        """True for a row another request may take over: an in-flight claim whose lease ran
        out (its process died), or a stored answer past the TTL (database clock)."""
        row, now = IdempotencyRow, self.database.now()
        lease_over = or_(
            row.lease_expires_at < now,
            and_(
                row.lease_expires_at.is_(None),
                row.created_at < self.database.now(-self.lease_seconds),
            ),
        )
        return or_(
            and_(row.state == "in_flight", lease_over),
            and_(row.state != "in_flight", row.created_at < self.database.now(-self.ttl_seconds)),
        )

    def begin(
        self, scope: str, key: str, method: str, path: str, owner: str
    ) -> IdempotencyRow | None:
        """Claim ``key`` for ``owner``: None when claimed now, else the existing (live) row."""
        claim = {
            "method": method,
            "path": path,
            "state": "in_flight",
            "created_at": self.database.now(),
            "owner": owner,
            "lease_expires_at": self.database.now(self.lease_seconds),
        }
        for _ in range(3):
            with self.database.session() as db:
                inserted = db.execute(
                    insert(IdempotencyRow.__table__, self.database.dialect)
                    .values(scope=scope, key=key, **claim)
                    .on_conflict_do_nothing()
                    .returning(IdempotencyRow.key)
                ).first()
                if inserted is None:
                    found = db.execute(
                        select(IdempotencyRow, self._takeable())
                        .where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)
                        .execution_options(populate_existing=True)
                    ).first()
                    if found is None:
                        continue  # released meanwhile: try again
                    existing, takeable = found
                    if not takeable:
                        db.expunge(existing)
                        return existing
                    taken = db.execute(
                        update(IdempotencyRow)
                        .where(
                            IdempotencyRow.scope == scope,
                            IdempotencyRow.key == key,
                            IdempotencyRow.owner.is_not_distinct_from(existing.owner),
                            IdempotencyRow.state == existing.state,
                            self._takeable(),
                        )
                        .values(
                            request_sha256=None,
                            status_code=None,
                            headers_json=None,
                            body=None,
                            **claim,
                        )
                        .execution_options(synchronize_session=False)
                    )
                    if _rowcount(taken) != 1:
                        continue  # someone else took it over first
            with self._held_lock:
                self._held.add(owner)
            return None
        with self.database.session() as db:
            row = db.get(IdempotencyRow, (scope, key))
            if row is not None:
                db.expunge(row)
            return row

    def _mine(self, scope: str, key: str, owner: str) -> Any:
        return and_(
            IdempotencyRow.scope == scope,
            IdempotencyRow.key == key,
            IdempotencyRow.owner == owner,
            IdempotencyRow.state == "in_flight",
        )

    def _let_go(self, owner: str) -> None:
        with self._held_lock:
            self._held.discard(owner)

    def finish(
        self,
        scope: str,
        key: str,
        owner: str,
        fingerprint: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Store the response of a key ``owner`` claimed (nothing if it is no longer its)."""
        try:
            with self.database.session() as db:
                db.execute(
                    update(IdempotencyRow)
                    .where(self._mine(scope, key, owner))
                    .values(
                        state="done",
                        request_sha256=fingerprint,
                        status_code=status,
                        headers_json=json.dumps(headers),
                        body=body,
                        lease_expires_at=None,
                    )
                    .execution_options(synchronize_session=False)
                )
        finally:
            self._let_go(owner)

    def forget(self, scope: str, key: str, owner: str) -> None:
        """Release a key ``owner`` claimed without storing anything (only its own row)."""
        try:
            with self.database.session() as db:
                db.execute(delete(IdempotencyRow).where(self._mine(scope, key, owner)))
        finally:
            self._let_go(owner)

    def renew_leases(self, *, force: bool = False) -> int:
        """Extend the leases of this process's in-flight claims (every third of the lease,
        or now with ``force``); returns how many rows were renewed."""
        if not force and time.monotonic() - self._renewed < self.lease_seconds / 3:
            return 0
        self._renewed = time.monotonic()
        with self._held_lock:
            owners = list(self._held)
        if not owners:
            return 0
        with self.database.session() as db:
            return _rowcount(
                db.execute(
                    update(IdempotencyRow)
                    .where(IdempotencyRow.owner.in_(owners), IdempotencyRow.state == "in_flight")
                    .values(lease_expires_at=self.database.now(self.lease_seconds))
                    .execution_options(synchronize_session=False)
                )
            )


_XXH3 = "xxh3-128:"


def _fingerprint_start(method: str, path: str, stored: str | None = None) -> Any:
    """A hash of a request's method and path, to be fed its body.

    XXH3-128, not sha256: it runs at tens of GB/s, so a 1 GiB upload costs the event loop
    ~20 ms instead of ~0.6 s (the blob store hashes the file with sha256 anyway, so every
    byte was hashed twice). It is not cryptographic and need not be: keys are scoped by
    caller, so a crafted collision could only replay the caller's own answer. A ``stored``
    fingerprint written before it (a sha256 hex digest) is recomputed as sha256, so such
    keys still replay.
    """
    old = stored is not None and not stored.startswith(_XXH3)
    digest = hashlib.sha256() if old else xxhash.xxh3_128()
    digest.update(f"{method} {path}\n".encode())
    return digest


def _fingerprint(digest: Any) -> str:
    """The stored form of a digest from :func:`_fingerprint_start`."""
    prefix = _XXH3 if isinstance(digest, xxhash.xxh3_128) else ""
    return prefix + str(digest.hexdigest())


class IdempotencyMiddleware:
    """Applies the Idempotency-Key rules to POST requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        keys = [v.decode("latin-1") for k, v in scope["headers"] if k == b"idempotency-key"]
        if len(keys) > 1:
            problem = f"was sent {len(keys)} times; send it once"
            error = ApiError(
                422,
                "VAL_001",
                f"Invalid request: header.Idempotency-Key: {problem}",
                kind="validation",
                errors=[
                    {"field": "header.Idempotency-Key", "message": problem, "type": "duplicate"}
                ],
            )
            await problem_response(Request(scope), error)(scope, receive, send)
            return
        key = keys[0] if keys else None
        if key is None or not _KEY.match(key):
            await self.app(scope, receive, send)  # absent, or invalid: the handler says 422
            return
        state = scope["app"].state.server
        identity = identify(
            scope["headers"], state.settings.api_keys, state.settings.node_keys
        ).identity
        if identity is None:  # not authenticated: the handler answers 401
            await self.app(scope, receive, send)
            return
        store: IdempotencyStore = state.idempotency
        method, path = scope["method"], scope["path"]
        owner = store.new_owner()
        existing = await run_in_threadpool(store.begin, identity, key, method, path, owner)
        request = Request(scope)
        if existing is not None:
            await self._answer_existing(existing, method, path, scope, receive, send, request)
            return
        digest = _fingerprint_start(method, path)

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
            return message

        captured: dict[str, Any] = {"status": None, "headers": [], "body": bytearray(), "ok": True}
        settled = False

        async def settle() -> None:
            # Record (2xx) or release the key before the client sees the end of the answer,
            # so that a retry sent right after it is replayed, not told "in progress".
            nonlocal settled
            status = captured["status"]
            failed = bool(scope.get("state", {}).get(_FAILED))
            if status is not None and 200 <= status < 300 and captured["ok"] and not failed:
                await run_in_threadpool(
                    store.finish,
                    identity,
                    key,
                    owner,
                    _fingerprint(digest),
                    status,
                    captured["headers"],
                    bytes(captured["body"]),
                )
            else:
                await run_in_threadpool(store.forget, identity, key, owner)
            settled = True

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in _REPLAYED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                body = captured["body"]
                body += message.get("body", b"")
                if len(body) > MAX_STORED_BODY:
                    captured["ok"] = False
                    captured["body"] = bytearray()
                if not message.get("more_body", False) and not settled:
                    await settle()
            await send(message)

        try:
            await self.app(scope, hashing_receive, capturing_send)
        finally:
            if not settled:
                await run_in_threadpool(store.forget, identity, key, owner)

    async def _answer_existing(
        self,
        row: IdempotencyRow,
        method: str,
        path: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
    ) -> None:
        if row.state != "done":
            error = ApiError(
                409,
                "IDEM_002",
                "A request with this Idempotency-Key is still in progress; retry shortly.",
                kind="idempotency-in-progress",
                headers={"Retry-After": "1"},
            )
            await problem_response(request, error)(scope, receive, send)
            return
        digest = _fingerprint_start(method, path, row.request_sha256)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            digest.update(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if _fingerprint(digest) != row.request_sha256:
            error = ApiError(
                422,
                "IDEM_001",
                "This Idempotency-Key was already used with a different request body; "
                "use a new key for a new request.",
                kind="idempotency-key-reused",
                errors=[
                    {
                        "field": "header.Idempotency-Key",
                        "message": "reused with another body",
                        "type": "idempotency",
                    }
                ],
            )
            await problem_response(request, error)(scope, receive, send)
            return
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in json.loads(row.headers_json or "[]")
        ]
        body = row.body or b""
        headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
        await send({"type": "http.response.start", "status": row.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
