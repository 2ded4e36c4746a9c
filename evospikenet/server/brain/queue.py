"""The durable prompt queue: the database is the record, media live in the blob store.

States: ``queued`` → ``running`` (a node claimed it) → ``completed`` | ``failed``. A prompt
whose node died is put back in the queue until ``max_attempts`` claims were spent, then failed.
Every method is synchronous (call it from a worker thread, never on the event loop) and safe to
call from several threads and processes: claims are atomic (conditional UPDATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.catalog import Catalog
from evospikenet.server.db import Database, isoformat, utcnow
from evospikenet.server.ids import new_id
from evospikenet.server.tables import PromptRow

TERMINAL = ("completed", "failed")


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


class PromptQueue:
    """Submit, claim, finish and read prompts."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        notifier: PromptNotifier,
        *,
        max_attempts: int = 3,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.notifier = notifier
        self.max_attempts = max_attempts

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
            row = db.scalar(
                select(PromptRow)
                .where(PromptRow.state == "completed")
                .order_by(PromptRow.finished_at.desc(), PromptRow.pk.desc())
                .limit(1)
            )
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

    def claim_next(self, node_id: str) -> ClaimedPrompt | None:
        """Take the highest-priority, oldest queued prompt for ``node_id`` (None if empty)."""
        for _ in range(8):
            with self.database.session() as db:
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
                now = utcnow()
                claimed = _rowcount(
                    db.execute(
                        update(PromptRow)
                        .where(
                            PromptRow.pk == row.pk,
                            PromptRow.state == "queued",
                            PromptRow.attempts == row.attempts,
                        )
                        .values(
                            state="running",
                            claimed_by=node_id,
                            started_at=now,
                            attempts=attempts,
                        ),
                        execution_options={"synchronize_session": False},
                    )
                )
                if claimed != 1:
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

    def _finish(self, prompt_id: str, **values: Any) -> bool:
        with self.database.session() as db:
            changed = _rowcount(
                db.execute(
                    update(PromptRow)
                    .where(PromptRow.id == prompt_id, PromptRow.state.in_(("queued", "running")))
                    .values(finished_at=utcnow(), **values)
                )
            )
        self.notifier.notify(prompt_id)
        return changed == 1

    def complete(self, prompt_id: str, response: str) -> bool:
        """Record the answer; False if the prompt was not queued or running (already final)."""
        return self._finish(prompt_id, state="completed", response=response, error=None)

    def fail(self, prompt_id: str, error: str) -> bool:
        """Fail the prompt for good with a message for the client."""
        return self._finish(prompt_id, state="failed", error=error)

    def requeue(self, prompt_id: str, reason: str) -> str | None:
        """Put a running prompt back in the queue, or fail it once its attempts are spent.

        Returns the new state (``queued`` or ``failed``), None if it was not running.
        """
        with self.database.session() as db:
            row = db.scalar(
                select(PromptRow).where(PromptRow.id == prompt_id, PromptRow.state == "running")
            )
            if row is None:
                return None
            if row.attempts >= self.max_attempts:
                row.state = "failed"
                row.error = f"gave up after {row.attempts} attempts: {reason}"
                row.finished_at = utcnow()
            else:
                row.state = "queued"
                row.claimed_by = None
                row.started_at = None
            new_state = row.state
        self.notifier.notify(prompt_id)
        return new_state

    def requeue_stale(self, live_node_ids: set[str]) -> list[str]:
        """Requeue (or fail) every running prompt whose node is not in ``live_node_ids``."""
        with self.database.session() as db:
            stale = [
                pid
                for pid, node in db.execute(
                    select(PromptRow.id, PromptRow.claimed_by).where(PromptRow.state == "running")
                )
                if node not in live_node_ids
            ]
        for prompt_id in stale:
            self.requeue(prompt_id, "the node working on it went offline")
        return stale

    def purge_expired(self, retention_seconds: float) -> int:
        """Delete finished prompts older than the retention period; returns how many."""
        cutoff: datetime = utcnow() - timedelta(seconds=retention_seconds)
        with self.database.session() as db:
            return _rowcount(
                db.execute(
                    delete(PromptRow).where(
                        PromptRow.state.in_(TERMINAL), PromptRow.finished_at < cutoff
                    )
                )
            )
