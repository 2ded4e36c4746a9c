"""Per-request isolation of generation errors, and error answers that leak nothing.

A prompt the model cannot take (lone surrogates, text the tokenizer refuses) is refused with
its own 422 before it joins a batch, and again inside the batch should it get there (the model
then generates the others as if it had not been there). A failure of the model itself is a
generic 500 ``MODEL_001`` whose detail carries only an error id; the exception, with that id,
goes to the server log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from evospikenet.server.errors import ApiError, validation_error

log = logging.getLogger("evospikenet.server.models")

__all__ = ["check_prompt", "generation_failed", "outcome"]


def _prompt_error_type() -> type[Exception]:
    from evospikenet.models.serving import PromptError  # imports no torch

    return PromptError


def prompt_refused(exc: Exception) -> ApiError:
    """The 422 for one prompt the model cannot take."""
    return validation_error("body.prompt", str(exc))


def check_prompt(prompt: str) -> None:
    """Refuse (422) a prompt that is not valid Unicode text, before it is batched (cheap, on
    the event loop; what only the tokenizer can refuse is isolated inside the batch)."""
    from evospikenet.models.serving import PromptError, check_prompt_text

    try:
        check_prompt_text(prompt)
    except PromptError as exc:
        raise prompt_refused(exc) from None


def generation_failed(exc: BaseException) -> ApiError:
    """A generic 500 ``MODEL_001`` for a failure of the model; the details go to the log."""
    error_id = "err_" + uuid.uuid4().hex[:16]
    log.error("generation failed (error id %s)", error_id, exc_info=exc)
    return ApiError(
        500,
        "MODEL_001",
        f"Generation failed (error id {error_id}); the server log has the details.",
        kind="generation-failed",
    )


def outcome(output: Any) -> ApiError | None:
    """The error of one request's entry in a batch's results (None for a generated text)."""
    if isinstance(output, _prompt_error_type()):
        return prompt_refused(output)
    if isinstance(output, BaseException):
        return generation_failed(output)
    return None
