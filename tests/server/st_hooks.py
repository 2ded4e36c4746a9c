"""Hooks module for the schemathesis CLI run (``SCHEMATHESIS_HOOKS=st_hooks``)."""

from __future__ import annotations

from typing import Any

import schemathesis
from st_support import unique_idempotency_keys


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """See ``st_support.unique_idempotency_keys``."""
    unique_idempotency_keys(ctx, case, **kwargs)
