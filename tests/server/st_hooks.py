"""Hooks module for the schemathesis CLI run (``SCHEMATHESIS_HOOKS=st_hooks``)."""

from __future__ import annotations

from typing import Any

import schemathesis
from st_support import prepare


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """See ``st_support``."""
    prepare(ctx, case, **kwargs)
