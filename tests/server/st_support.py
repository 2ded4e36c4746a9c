"""Shared by the schemathesis runs: every generated request gets its own Idempotency-Key.

schemathesis reuses one example key across requests with different bodies; by the contract
that is a client error (422 ``IDEM_001``), which its positive-data check would report. Valid
keys are replaced by unique ones (deterministically, by a counter); invalid ones are kept so
that the server's 422 for them is still checked (an empty one, which the multipart transport
would drop, becomes "!": as invalid, but sent). Idempotency itself is tested in
test_idempotency_ratelimit.py.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

_VALID = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")
_COUNTER = itertools.count()


def prepare(ctx: Any, case: Any, **kwargs: Any) -> None:
    """A ``before_call`` hook."""
    unique_idempotency_keys(ctx, case)


def unique_idempotency_keys(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Replace a valid generated Idempotency-Key by a unique one."""
    headers = case.headers or {}
    for name in list(headers):
        value = headers[name]
        if name.lower() != "idempotency-key" or not isinstance(value, str):
            continue
        if _VALID.match(value):
            headers[name] = f"st-{next(_COUNTER)}"
        elif value == "":
            # the multipart transport drops empty header values, which would turn this negative
            # case into a valid request; "!" is just as invalid and reaches the server
            headers[name] = "!"
