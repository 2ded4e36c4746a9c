from __future__ import annotations

import datetime
from typing import Any, ClassVar, cast

from ..models.prompt_state import PromptState
from ..types import JSONModel, missing_field, validate_field


class PromptResult(JSONModel):
    """
    Attributes:
        prompt_id (None | str): Null only in the no-`prompt_id` form when nothing has completed yet.
        state (None | PromptState): Null only in the no-`prompt_id` form when nothing has completed yet.
        response (None | str): The simulation's answer once `completed`.
        timestamp (datetime.datetime | None): When the prompt reached a terminal state.
        error (None | str): Why the prompt failed, once `failed`.
        created_at (datetime.datetime | None):
        started_at (datetime.datetime | None):
        attempts (int): How many times a node took the prompt (retries after a node died count).
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "prompt_id",
            "state",
            "response",
            "timestamp",
            "error",
            "created_at",
            "started_at",
            "attempts",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "prompt_id",
        "state",
        "response",
        "timestamp",
        "error",
        "created_at",
        "started_at",
        "attempts",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        prompt_id: None | str,
        state: None | PromptState,
        response: None | str,
        timestamp: datetime.datetime | None,
        error: None | str,
        created_at: datetime.datetime | None,
        started_at: datetime.datetime | None,
        attempts: int,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_prompt_id: None | str
        json_prompt_id = prompt_id
        field_dict["prompt_id"] = json_prompt_id
        json_state: None | str
        if isinstance(state, PromptState):
            json_state = state.value
        else:
            json_state = state
        field_dict["state"] = json_state
        json_response: None | str
        json_response = response
        field_dict["response"] = json_response
        json_timestamp: None | str
        if isinstance(timestamp, datetime.datetime):
            json_timestamp = timestamp.isoformat()
        else:
            json_timestamp = timestamp
        field_dict["timestamp"] = json_timestamp
        json_error: None | str
        json_error = error
        field_dict["error"] = json_error
        json_created_at: None | str
        if isinstance(created_at, datetime.datetime):
            json_created_at = created_at.isoformat()
        else:
            json_created_at = created_at
        field_dict["created_at"] = json_created_at
        json_started_at: None | str
        if isinstance(started_at, datetime.datetime):
            json_started_at = started_at.isoformat()
        else:
            json_started_at = started_at
        field_dict["started_at"] = json_started_at
        json_attempts = attempts
        field_dict["attempts"] = json_attempts
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "prompt_id" in self:
            validate_field(self, "prompt_id", "prompt_id", None | str)
        if "state" in self:
            validate_field(self, "state", "state", None | PromptState)
        if "response" in self:
            validate_field(self, "response", "response", None | str)
        if "timestamp" in self:
            validate_field(self, "timestamp", "timestamp", datetime.datetime | None)
        if "error" in self:
            validate_field(self, "error", "error", None | str)
        if "created_at" in self:
            validate_field(self, "created_at", "created_at", datetime.datetime | None)
        if "started_at" in self:
            validate_field(self, "started_at", "started_at", datetime.datetime | None)
        if "attempts" in self:
            validate_field(self, "attempts", "attempts", int)

    @property
    def is_terminal(self) -> bool:
        """True once the prompt is completed or failed (from a server that sends no ``state``:
        once it has a ``response``)."""
        state = self.get("state")
        if state is not None:
            return state in ("completed", "failed")
        return self.get("response") is not None

    @property
    def failed(self) -> bool:
        """True when the prompt failed."""
        return self.get("state") == "failed"

    @property
    def prompt_id(self) -> None | str:
        """Null only in the no-`prompt_id` form when nothing has completed yet."""

        if self.get("prompt_id") is None:
            return None

        def _parse_prompt_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        prompt_id = _parse_prompt_id(self["prompt_id"])

        return prompt_id

    @property
    def state(self) -> None | PromptState:
        """Null only in the no-`prompt_id` form when nothing has completed yet."""

        if self.get("state") is None:
            return None

        def _parse_state(data: object) -> None | PromptState:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_type_0 = PromptState(data)

                return state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PromptState, data)

        state = _parse_state(self["state"])

        return state

    @property
    def response(self) -> None | str:
        """The simulation's answer once `completed`."""

        if self.get("response") is None:
            return None

        def _parse_response(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        response = _parse_response(self["response"])

        return response

    @property
    def timestamp(self) -> datetime.datetime | None:
        """When the prompt reached a terminal state."""

        if self.get("timestamp") is None:
            return None

        def _parse_timestamp(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        timestamp = _parse_timestamp(self["timestamp"])

        return timestamp

    @property
    def error(self) -> None | str:
        """Why the prompt failed, once `failed`."""

        if self.get("error") is None:
            return None

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(self["error"])

        return error

    @property
    def created_at(self) -> datetime.datetime | None:

        if self.get("created_at") is None:
            return None

        def _parse_created_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = datetime.datetime.fromisoformat(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        created_at = _parse_created_at(self["created_at"])

        return created_at

    @property
    def started_at(self) -> datetime.datetime | None:

        if self.get("started_at") is None:
            return None

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(self["started_at"])

        return started_at

    @property
    def attempts(self) -> int:
        """How many times a node took the prompt (retries after a node died count)."""

        if "attempts" not in self:
            raise missing_field(self, "attempts")
        return cast(int, self["attempts"])
