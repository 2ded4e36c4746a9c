"""Alembic environment: runs on the connection the server passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from evospikenet.server.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through evospikenet.server.db.run_migrations")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
