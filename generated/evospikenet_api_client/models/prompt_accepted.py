from __future__ import annotations

import datetime
from typing import Any, ClassVar, cast

from ..models.prompt_state import PromptState
from ..types import JSONModel, missing_field, validate_field


class PromptAccepted(JSONModel):
    """
    Attributes:
        message (str):
        prompt_id (str):
        state (PromptState): `completed` and `failed` are terminal.
        created_at (datetime.datetime):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "message",
            "prompt_id",
            "state",
            "created_at",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "message",
        "prompt_id",
        "state",
        "created_at",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ("prompt_id",)
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        message: str,
        prompt_id: str,
        state: PromptState,
        created_at: datetime.datetime,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_message = message
        field_dict["message"] = json_message
        json_prompt_id = prompt_id
        field_dict["prompt_id"] = json_prompt_id
        json_state = state.value
        field_dict["state"] = json_state
        json_created_at = created_at.isoformat()
        field_dict["created_at"] = json_created_at
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "message" in self:
            validate_field(self, "message", "message", str)
        if "prompt_id" in self:
            validate_field(self, "prompt_id", "prompt_id", str)
        if "state" in self:
            validate_field(self, "state", "state", PromptState)
        if "created_at" in self:
            validate_field(self, "created_at", "created_at", datetime.datetime)

    @property
    def message(self) -> str:

        if "message" not in self:
            raise missing_field(self, "message")
        return cast(str, self["message"])

    @property
    def prompt_id(self) -> str:

        if "prompt_id" not in self:
            raise missing_field(self, "prompt_id")
        return cast(str, self["prompt_id"])

    @property
    def state(self) -> PromptState:
        """`completed` and `failed` are terminal."""

        if "state" not in self:
            raise missing_field(self, "state")
        state = PromptState(self["state"])

        return state

    @property
    def created_at(self) -> datetime.datetime:

        if "created_at" not in self:
            raise missing_field(self, "created_at")
        created_at = datetime.datetime.fromisoformat(self["created_at"])

        return created_at
