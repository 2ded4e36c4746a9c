"""The durable prompt queue: the database is the record, media live in the blob store.

States: ``queued`` → ``running`` (a node claimed it) → ``completed`` | ``failed``. A prompt
whose node died is put back in the queue until ``max_attempts`` claims were spent, then failed.
Every method is synchronous (call it from a worker thread, never on the event loop) and safe to
call from several threads and processes: claims are atomic (conditional UPDATE).

A claim is one *attempt* (``attempts`` counts them) with a lease that its claimer renews
(``renew``); ``complete``, ``fail`` and ``requeue`` given an attempt number change the prompt
only while that attempt is current, so a late answer or give-back of an older attempt cannot
touch a newer one. ``requeue_expired`` requeues only attempts whose lease ran out (their
claimer is gone). A claim with a ``capacity`` counts the node's running prompts in the database
(so across every bridge and server sharing it). Leases, start and finish times and the purge's
cut-off are the database's clock (``Database.now``), never a process's: processes whose clocks
disagree agree on which leases ran out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.catalog import Catalog
from evospikenet.server.db import Database, delete_in_pages, isoformat, lock_key, utcnow
from evospikenet.server.ids import new_id
from evospikenet.server.tables import PromptRow

TERMINAL = ("completed", "failed")
LEASE_SECONDS = 30.0
"""How long a claim stays valid without ``renew`` (the bridge renews every few seconds)."""


@dataclass(frozen=True)
class ClaimedPrompt:
    """A prompt handed to a node: its text and the paths of its media in the blob store."""

    prompt_id: str
    text: str | None
    image_path: Path | None
    audio_path: Path | None
    priority: int
    session_id: str | None
    attempts: int


def prompt_result_json(row: PromptRow) -> dict[str, Any]:
    """A prompt's state and result as ``getPromptResult`` shows it."""
    return {
        "prompt_id": row.id,
        "state": row.state,
        "response": row.response,
        "timestamp": isoformat(row.finished_at),
        "error": row.error,
        "created_at": isoformat(row.created_at),
        "started_at": isoformat(row.started_at),
        "attempts": row.attempts,
    }


def _rowcount(result: object) -> int:
    """Rows touched by an UPDATE or DELETE."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


EMPTY_RESULT: dict[str, Any] = {
    "prompt_id": None,
    "state": None,
    "response": None,
    "timestamp": None,
    "error": None,
    "created_at": None,
    "started_at": None,
    "attempts": 0,
}


def in_final_state(state: str, dialect: str) -> ColumnElement[bool]:
    """``state = '<state>'`` with the state a literal in the SQL, not a bound parameter, so
    the planner can prove that the partial index ``ix_prompts_<state>`` applies. On SQLite
    wrapped in ``likely()``: without statistics its planner expects an equality on
    ``ix_prompts_claim`` to match ~10 rows and would sort them all instead."""
    assert state in TERMINAL
    term = PromptRow.state == literal_column(f"'{state}'")
    return func.likely(term) if dialect == "sqlite" else term  # untyped: no "= 1" appended


def latest_completed_query(dialect: str) -> Select[PromptRow]:
    """The newest completed prompt: one entry of ``ix_prompts_completed``, read backwards."""
    return (
        select(PromptRow)
        .where(in_final_state("completed", dialect))
        .order_by(PromptRow.finished_at.desc(), PromptRow.pk.desc())
        .limit(1)
    )


class PromptQueue:
    """Submit, claim, finish and read prompts."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        notifier: PromptNotifier,
        *,
        max_attempts: int = 3,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.notifier = notifier
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds

    # --- the API side -------------------------------------------------------------------

    def submit(
        self,
        *,
        text: str | None,
        image: bytes | None,
        audio: bytes | None,
        priority: int,
        session_id: str | None,
    ) -> dict[str, Any]:
        """Store a prompt (media into the blob store first) and queue it. When the row cannot
        be written, media stored for it are deleted again unless something else needs them."""
        stored: list[str] = []
        try:
            image_sha = self._put(image, stored)
            audio_sha = self._put(audio, stored)
            with self.database.session() as db:
                row = PromptRow(
                    id=new_id("prm"),
                    text=text,
                    image_sha256=image_sha,
                    audio_sha256=audio_sha,
                    priority=priority,
                    session_id=session_id,
                    state="queued",
                    attempts=0,
                    created_at=utcnow(),
                )
                db.add(row)
                db.flush()
                accepted = {
                    "prompt_id": row.id,
                    "state": row.state,
                    "created_at": isoformat(row.created_at),
                }
        except BaseException:
            for digest in stored:
                self.blobs.abandon(digest, Catalog(self.database).is_referenced)
            raise
        for digest in stored:
            self.blobs.release(digest)
        return accepted

    def _put(self, data: bytes | None, stored: list[str]) -> str | None:
        if data is None:
            return None
        digest = self.blobs.put_bytes(data)
        stored.append(digest)
        return digest

    def get(self, prompt_id: str) -> dict[str, Any] | None:
        """One prompt's result view, or None."""
        with self.database.session() as db:
            row = db.scalar(select(PromptRow).where(PromptRow.id == prompt_id))
            return None if row is None else prompt_result_json(row)

    def latest_completed(self) -> dict[str, Any]:
        """The most recently completed prompt's result (never deleted by reading)."""
        with self.database.session() as db:
            row = db.scalar(latest_completed_query(self.database.dialect))
            return dict(EMPTY_RESULT) if row is None else prompt_result_json(row)

    def counts(self) -> dict[str, Any]:
        """Queue depth, running count, and the newest prompt's id and state."""
        with self.database.session() as db:
            by_state = dict(
                db.execute(
                    select(PromptRow.state, func.count(PromptRow.pk))
                    .where(PromptRow.state.in_(("queued", "running")))
                    .group_by(PromptRow.state)
                ).all()
            )
            last = db.execute(
                select(PromptRow.id, PromptRow.state).order_by(PromptRow.pk.desc()).limit(1)
            ).first()
        return {
            "queue_depth": int(by_state.get("queued", 0)),
            "running": int(by_state.get("running", 0)),
            "last_prompt_id": last[0] if last else None,
            "last_prompt_status": last[1] if last else None,
        }

    # --- the simulation side ------------------------------------------------------------

    def claim_next(self, node_id: str, *, capacity: int | None = None) -> ClaimedPrompt | None:
        """Take the highest-priority, oldest queued prompt for ``node_id``; None if the queue
        is empty or ``node_id`` already runs ``capacity`` prompts (counted in the database)."""
        others = aliased(PromptRow)
        for _ in range(8):
            with self.database.session() as db:
                if capacity is not None and self.database.dialect == "postgresql":
                    # claims for one node take turns, so the count below cannot be outrun
                    db.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": lock_key(f"claim:{node_id}")},
                    )
                row = db.scalar(
                    select(PromptRow)
                    .where(PromptRow.state == "queued")
                    .order_by(PromptRow.priority.desc(), PromptRow.pk.asc())
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if row is None:
                    return None
                attempts = row.attempts + 1
                conditions = [
                    PromptRow.pk == row.pk,
                    PromptRow.state == "queued",
                    PromptRow.attempts == row.attempts,
                ]
                if capacity is not None:
                    running = (
                        select(func.count())
                        .select_from(others)
                        .where(others.state == "running", others.claimed_by == node_id)
                        .scalar_subquery()
                    )
                    conditions.append(running < capacity)
                claimed = _rowcount(
                    db.execute(
                        update(PromptRow)
                        .where(*conditions)
                        .values(
                            state="running",
                            claimed_by=node_id,
                            started_at=self.database.now(),
                            attempts=attempts,
                            lease_expires_at=self.database.now(self.lease_seconds),
                        ),
                        execution_options={"synchronize_session": False},
                    )
                )
                if claimed != 1:
                    if capacity is not None and self._running_for(db, node_id) >= capacity:
                        return None  # the node is full
                    continue  # another claimer won the race; try the next prompt
                result = ClaimedPrompt(
                    prompt_id=row.id,
                    text=row.text,
                    image_path=self.blobs.path_for(row.image_sha256) if row.image_sha256 else None,
                    audio_path=self.blobs.path_for(row.audio_sha256) if row.audio_sha256 else None,
                    priority=row.priority,
                    session_id=row.session_id,
                    attempts=attempts,
                )
            self.notifier.notify(result.prompt_id)
            return result
        return None

    @staticmethod
    def _running_for(db: Any, node_id: str) -> int:
        return int(
            db.scalar(
                select(func.count(PromptRow.pk)).where(
                    PromptRow.state == "running", PromptRow.claimed_by == node_id
                )
            )
            or 0
        )

    def held_by(self, node_id: str, prompt_ids: Iterable[str]) -> dict[str, int]:
        """``{prompt id: current attempt}`` of those of ``prompt_ids`` running on ``node_id``
        (a bridge that started while the node worked on them adopts these attempts)."""
        wanted = list(prompt_ids)
        if not wanted:
            return {}
        with self.database.session() as db:
            rows = db.execute(
                select(PromptRow.id, PromptRow.attempts).where(
                    PromptRow.id.in_(wanted),
                    PromptRow.state == "running",
                    PromptRow.claimed_by == node_id,
                )
            ).all()
        return {pid: attempt for pid, attempt in rows}

    def renew(self, attempts: dict[str, int]) -> int:
        """Extend the leases of running attempts (``{prompt_id: attempt}``) still current;
        returns how many."""
        if not attempts:
            return 0
        with self.database.session() as db:
            rows = db.execute(
                select(PromptRow.pk, PromptRow.id, PromptRow.attempts).where(
                    PromptRow.id.in_(list(attempts)), PromptRow.state == "running"
                )
            ).all()
            current = [pk for pk, pid, attempt in rows if attempts.get(pid) == attempt]
            if not current:
                return 0
            return _rowcount(
                db.execute(
                    update(PromptRow)
                    .where(PromptRow.pk.in_(current), PromptRow.state == "running")
                    .values(lease_expires_at=self.database.now(self.lease_seconds)),
                    execution_options={"synchronize_session": False},
                )
            )

    def _finish(self, prompt_id: str, attempt: int | None, **values: Any) -> bool:
        conditions = [PromptRow.id == prompt_id, PromptRow.state.in_(("queued", "running"))]
        if attempt is not None:
            conditions.append(PromptRow.attempts == attempt)
        with self.database.session() as db:
            changed = _rowcount(
                db.execute(
                    update(PromptRow)
                    .where(*conditions)
                    .values(finished_at=self.database.now(), lease_expires_at=None, **values)
                )
            )
        self.notifier.notify(prompt_id)
        return changed == 1

    def complete(self, prompt_id: str, response: str, attempt: int | None = None) -> bool:
        """Record the answer; False if the prompt was already final, or ``attempt`` is given
        and is not the current one."""
        return self._finish(prompt_id, attempt, state="completed", response=response, error=None)

    def fail(self, prompt_id: str, error: str, attempt: int | None = None) -> bool:
        """Fail the prompt for good with a message for the client (same checks as
        ``complete``)."""
        return self._finish(prompt_id, attempt, state="failed", error=error)

    def requeue(self, prompt_id: str, reason: str, attempt: int | None = None) -> str | None:
        """Put a running prompt back in the queue, or fail it once its attempts are spent.

        Returns the new state (``queued`` or ``failed``), None if it was not running (or
        ``attempt`` is given and is not the current one).
        """
        conditions = [PromptRow.id == prompt_id, PromptRow.state == "running"]
        if attempt is not None:
            conditions.append(PromptRow.attempts == attempt)
        with self.database.session() as db:
            row = db.scalar(select(PromptRow).where(*conditions))
            if row is None:
                return None
            conditions.append(PromptRow.attempts == row.attempts)
            if row.attempts >= self.max_attempts:
                values: dict[str, Any] = {
                    "state": "failed",
                    "error": f"gave up after {row.attempts} attempts: {reason}",
                    "finished_at": self.database.now(),
                }
            else:
                values = {"state": "queued", "claimed_by": None, "started_at": None}
            changed = _rowcount(
                db.execute(
                    update(PromptRow).where(*conditions).values(lease_expires_at=None, **values),
                    execution_options={"synchronize_session": False},
                )
            )
        if changed != 1:
            return None  # finished or requeued meanwhile
        self.notifier.notify(prompt_id)
        return str(values["state"])

    def _running(self, *conditions: Any) -> list[tuple[str, int, str | None]]:
        """(prompt id, attempt, node) of running prompts matching ``conditions``."""
        with self.database.session() as db:
            rows = db.execute(
                select(PromptRow.id, PromptRow.attempts, PromptRow.claimed_by).where(
                    PromptRow.state == "running", *conditions
                )
            ).all()
        return [(pid, attempt, node) for pid, attempt, node in rows]

    def requeue_stale(self, live_node_ids: set[str]) -> list[str]:
        """Requeue (or fail) every running prompt whose node is not in ``live_node_ids``."""
        reason = "the node working on it went offline"
        return [
            pid
            for pid, attempt, node in self._running()
            if node not in live_node_ids and self.requeue(pid, reason, attempt)
        ]

    def requeue_expired(self) -> list[str]:
        """Requeue (or fail) running attempts whose lease ran out: their claimer is gone."""
        expired = or_(
            PromptRow.lease_expires_at.is_(None),
            PromptRow.lease_expires_at < self.database.now(),
        )
        reason = "the process that claimed it stopped renewing it"
        return [
            pid for pid, attempt, _ in self._running(expired) if self.requeue(pid, reason, attempt)
        ]

    def purge_expired(self, retention_seconds: float) -> int:
        """Delete finished prompts older than the retention period (by the database's clock,
        1,000 per transaction, each final state through its partial index); how many."""
        cutoff = self.database.now(-retention_seconds)
        return sum(
            delete_in_pages(
                self.database,
                [PromptRow.pk],
                in_final_state(state, self.database.dialect),
                PromptRow.finished_at < cutoff,
            )
            for state in TERMINAL
        )
