from __future__ import annotations

import datetime
from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class Session(JSONModel):
    """
    Attributes:
        session_id (str):
        description (str):
        created_at (datetime.datetime):
        artifact_count (int):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "session_id",
            "description",
            "created_at",
            "artifact_count",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "session_id",
        "description",
        "created_at",
        "artifact_count",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ("session_id",)
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        session_id: str,
        description: str,
        created_at: datetime.datetime,
        artifact_count: int,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_session_id = session_id
        field_dict["session_id"] = json_session_id
        json_description = description
        field_dict["description"] = json_description
        json_created_at = created_at.isoformat()
        field_dict["created_at"] = json_created_at
        json_artifact_count = artifact_count
        field_dict["artifact_count"] = json_artifact_count
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "session_id" in self:
            validate_field(self, "session_id", "session_id", str)
        if "description" in self:
            validate_field(self, "description", "description", str)
        if "created_at" in self:
            validate_field(self, "created_at", "created_at", datetime.datetime)
        if "artifact_count" in self:
            validate_field(self, "artifact_count", "artifact_count", int)

    @property
    def session_id(self) -> str:

        if "session_id" not in self:
            raise missing_field(self, "session_id")
        return cast(str, self["session_id"])

    @property
    def description(self) -> str:

        if "description" not in self:
            raise missing_field(self, "description")
        return cast(str, self["description"])

    @property
    def created_at(self) -> datetime.datetime:

        if "created_at" not in self:
            raise missing_field(self, "created_at")
        created_at = datetime.datetime.fromisoformat(self["created_at"])

        return created_at

    @property
    def artifact_count(self) -> int:

        if "artifact_count" not in self:
            raise missing_field(self, "artifact_count")
        return cast(int, self["artifact_count"])
