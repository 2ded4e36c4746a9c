"""Sessions and artifacts in the database (metadata only; bytes live in the blob store)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from evospikenet.server.db import Database, insert, isoformat, utcnow
from evospikenet.server.ids import new_id
from evospikenet.server.tables import ArtifactRow, PromptRow, SessionRow


def _after_pk(
    db: Session, table: type[SessionRow] | type[ArtifactRow], cursor: str | None
) -> int | None:
    """The keyset position a cursor stands for. A cursor is the id of the last item of the
    previous page; one that names no item gives position 0, i.e. an empty page."""
    if cursor is None:
        return None
    return int(db.scalar(select(table.pk).where(table.id == cursor)) or 0)


@dataclass(frozen=True)
class Page:
    """One page of a list, newest first, and the cursor of the next page (None when last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


REFERENCE_BATCH = 500
"""Digests looked up per query when checking which blobs rows still need."""


def session_json(row: SessionRow) -> dict[str, Any]:
    """A session as the API shows it."""
    return {
        "session_id": row.id,
        "description": row.description,
        "created_at": isoformat(row.created_at),
        "artifact_count": row.artifact_count,
    }


def artifact_json(row: ArtifactRow, session_id: str) -> dict[str, Any]:
    """An artifact as the API shows it."""
    return {
        "artifact_id": row.id,
        "session_id": session_id,
        "artifact_type": row.artifact_type,
        "name": row.name,
        "llm_type": row.llm_type,
        "size": row.size,
        "sha256": row.sha256,
        "content_type": row.content_type,
        "created_at": isoformat(row.created_at),
    }


def _add_artifact_row(db: Session, session_pk: int, fields: dict[str, Any]) -> ArtifactRow:
    row = ArtifactRow(id=new_id("art"), session_pk=session_pk, created_at=utcnow(), **fields)
    db.add(row)
    db.flush()
    return row


class Catalog:
    """Reads and writes sessions and artifacts."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create_session(self, description: str, *, bundled_default: bool = False) -> dict[str, Any]:
        """A new, empty session."""
        with self.database.session() as db:
            row = SessionRow(
                id=new_id("ses"),
                description=description,
                bundled_default=bundled_default,
                created_at=utcnow(),
                artifact_count=0,
            )
            db.add(row)
            db.flush()
            return session_json(row)

    def register_bundled_default(
        self, description: str, artifacts: list[dict[str, Any]]
    ) -> str | None:
        """Create the bundled-default session with ``artifacts`` (``add_artifact``'s fields
        without ``session_id``) in one transaction; None when one exists already (concurrent
        starts: the unique partial index and ``ON CONFLICT DO NOTHING`` let one win)."""
        session_id = new_id("ses")
        with self.database.session() as db:
            session_pk = db.scalar(
                insert(SessionRow, self.database.dialect)
                .values(
                    id=session_id,
                    description=description,
                    bundled_default=True,
                    created_at=utcnow(),
                    artifact_count=len(artifacts),
                )
                .on_conflict_do_nothing()
                .returning(SessionRow.pk)
            )
            if session_pk is None:
                return None
            for fields in artifacts:
                _add_artifact_row(db, session_pk, fields)
        return session_id

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """One session, or None."""
        with self.database.session() as db:
            row = db.scalar(select(SessionRow).where(SessionRow.id == session_id))
            return None if row is None else session_json(row)

    def session_exists(self, session_id: str) -> bool:
        """True when the session exists."""
        with self.database.session() as db:
            return db.scalar(select(SessionRow.pk).where(SessionRow.id == session_id)) is not None

    def list_sessions(self, limit: int, cursor: str | None) -> Page:
        """Sessions newest first, after the session named by ``cursor``."""
        with self.database.session() as db:
            after_pk = _after_pk(db, SessionRow, cursor)
            query = select(SessionRow).order_by(SessionRow.pk.desc()).limit(limit + 1)
            if after_pk is not None:
                query = query.where(SessionRow.pk < after_pk)
            rows = list(db.scalars(query))
            items = [session_json(r) for r in rows[:limit]]
            more = len(rows) > limit
            return Page(items, rows[limit - 1].id if more else None)

    def list_artifacts(
        self,
        *,
        limit: int,
        cursor: str | None,
        artifact_type: str | None = None,
        session_id: str | None = None,
        llm_type: str | None = None,
        name: str | None = None,
    ) -> Page:
        """Artifacts newest first after the artifact named by ``cursor``, filtered (AND)."""
        with self.database.session() as db:
            after_pk = _after_pk(db, ArtifactRow, cursor)
            query = (
                select(ArtifactRow, SessionRow.id)
                .join(SessionRow, SessionRow.pk == ArtifactRow.session_pk)
                .order_by(ArtifactRow.pk.desc())
                .limit(limit + 1)
            )
            if after_pk is not None:
                query = query.where(ArtifactRow.pk < after_pk)
            if artifact_type is not None:
                query = query.where(ArtifactRow.artifact_type == artifact_type)
            if session_id is not None:
                query = query.where(SessionRow.id == session_id)
            if llm_type is not None:
                query = query.where(ArtifactRow.llm_type == llm_type)
            if name is not None:
                query = query.where(ArtifactRow.name == name)
            rows = db.execute(query).all()
            items = [artifact_json(row, sid) for row, sid in rows[:limit]]
            more = len(rows) > limit
            return Page(items, rows[limit - 1][0].id if more else None)

    def get_artifact(self, artifact_id: str) -> dict[str, Any] | None:
        """One artifact's metadata, or None."""
        with self.database.session() as db:
            found = db.execute(
                select(ArtifactRow, SessionRow.id)
                .join(SessionRow, SessionRow.pk == ArtifactRow.session_pk)
                .where(ArtifactRow.id == artifact_id)
            ).first()
            return None if found is None else artifact_json(found[0], found[1])

    def add_artifact(
        self,
        *,
        session_id: str,
        artifact_type: str,
        name: str,
        llm_type: str | None,
        size: int,
        sha256: str,
        content_type: str,
    ) -> dict[str, Any] | None:
        """Record an artifact whose bytes are already in the blob store; None if no session.
        The session's ``artifact_count`` grows in the same transaction."""
        with self.database.session() as db:
            session_pk = db.scalar(
                update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(artifact_count=SessionRow.artifact_count + 1)
                .returning(SessionRow.pk),
                execution_options={"synchronize_session": False},
            )
            if session_pk is None:
                return None
            fields = {
                "artifact_type": artifact_type,
                "name": name,
                "llm_type": llm_type,
                "size": size,
                "sha256": sha256,
                "content_type": content_type,
            }
            return artifact_json(_add_artifact_row(db, session_pk, fields), session_id)

    def is_referenced(self, sha256: str) -> bool:
        """Whether some row (an artifact, a prompt's media) points at the blob ``sha256``."""
        with self.database.session() as db:
            for column in (ArtifactRow.sha256, PromptRow.image_sha256, PromptRow.audio_sha256):
                if db.scalar(select(column).where(column == sha256).limit(1)) is not None:
                    return True
        return False

    def referenced_among(self, digests: Iterable[str]) -> set[str]:
        """Those of ``digests`` some row points at (artifacts and prompt media), looked up
        ``REFERENCE_BATCH`` at a time through the digest indexes (never every digest)."""
        pending = list(digests)
        found: set[str] = set()
        columns = (ArtifactRow.sha256, PromptRow.image_sha256, PromptRow.audio_sha256)
        with self.database.session() as db:
            for start in range(0, len(pending), REFERENCE_BATCH):
                batch = pending[start : start + REFERENCE_BATCH]
                for column in columns:
                    found.update(db.scalars(select(column).where(column.in_(batch)).distinct()))
        return found
