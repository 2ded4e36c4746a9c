"""The database tables (SQLAlchemy 2 declarative). Changes go through a new Alembic migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AutoPk = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """The declarative base of every table."""


class SessionRow(Base):
    """An experiment session grouping artifacts."""

    __tablename__ = "sessions"
    pk: Mapped[int] = mapped_column(AutoPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    bundled_default: Mapped[bool] = mapped_column(default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    artifact_count: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0"
    )
    """Kept in the transaction that adds an artifact (no ``count(*)`` per read)."""

    __table_args__ = (
        # at most one bundled default: concurrent starts insert it with ON CONFLICT DO NOTHING
        Index(
            "ux_sessions_bundled_default",
            "bundled_default",
            unique=True,
            sqlite_where=sql("bundled_default"),
            postgresql_where=sql("bundled_default"),
        ),
    )


class ArtifactRow(Base):
    """One uploaded file: metadata here, bytes in the blob store under ``sha256``."""

    __tablename__ = "artifacts"
    pk: Mapped[int] = mapped_column(AutoPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    session_pk: Mapped[int] = mapped_column(ForeignKey("sessions.pk"), nullable=False)
    artifact_type: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    llm_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("ix_artifacts_session_pk", "session_pk", "pk"),
        Index("ix_artifacts_type_pk", "artifact_type", "pk"),
        Index("ix_artifacts_sha256", "sha256"),
        Index("ix_artifacts_name_pk", "name", "pk"),
        Index("ix_artifacts_llm_type_pk", "llm_type", "pk"),
    )


class PromptRow(Base):
    """A distributed-brain prompt, its media (blob sha256s) and its result."""

    __tablename__ = "prompts"
    pk: Mapped[int] = mapped_column(AutoPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    audio_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    """While running: the claimer renews it; once past, the attempt counts as abandoned."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        # the claim query: WHERE state = ? ORDER BY priority DESC, pk ASC
        Index("ix_prompts_claim", "state", sql("priority DESC"), "pk"),
        # partial, one per final state (migration 0005): the latest result (WHERE state =
        # 'completed' ORDER BY finished_at DESC, pk DESC) and the retention purge (WHERE
        # state = '<state>' AND finished_at < ?); the queries name the state as a literal
        *(
            Index(
                f"ix_prompts_{state}",
                "finished_at",
                "pk",
                sqlite_where=sql(f"state = '{state}'"),
                postgresql_where=sql(f"state = '{state}'"),
            )
            for state in ("completed", "failed")
        ),
        Index("ix_prompts_image_sha256", "image_sha256"),
        Index("ix_prompts_audio_sha256", "audio_sha256"),
    )


class NodeRow(Base):
    """The last report of a simulation node."""

    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    last_heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    prompts_done: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    spike_rate: Mapped[float | None] = mapped_column(nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)


class IdempotencyRow(Base):
    """A request made with an ``Idempotency-Key`` and, once done, its response."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    request_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The request that claimed the key: only it may finish or release the row."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    """While in flight: renewed by the owner's process; once past, another request may
    take the key over (its owner died)."""

    __table_args__ = (
        # the purge's cut-off (migration 0005)
        Index("ix_idempotency_keys_created_at", "created_at"),
    )
