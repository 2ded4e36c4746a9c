from __future__ import annotations

import datetime
from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class Artifact(JSONModel):
    """
    Attributes:
        artifact_id (str):
        session_id (str):
        artifact_type (str):
        name (str):
        llm_type (None | str):
        size (int): Bytes.
        sha256 (str): Lowercase hex sha256 of the bytes.
        content_type (str): The media type sent with the file part.
        created_at (datetime.datetime):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "artifact_id",
            "session_id",
            "artifact_type",
            "name",
            "llm_type",
            "size",
            "sha256",
            "content_type",
            "created_at",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "artifact_id",
        "session_id",
        "artifact_type",
        "name",
        "llm_type",
        "size",
        "sha256",
        "content_type",
        "created_at",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ("artifact_id",)
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        artifact_id: str,
        session_id: str,
        artifact_type: str,
        name: str,
        llm_type: None | str,
        size: int,
        sha256: str,
        content_type: str,
        created_at: datetime.datetime,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_artifact_id = artifact_id
        field_dict["artifact_id"] = json_artifact_id
        json_session_id = session_id
        field_dict["session_id"] = json_session_id
        json_artifact_type = artifact_type
        field_dict["artifact_type"] = json_artifact_type
        json_name = name
        field_dict["name"] = json_name
        json_llm_type: None | str
        json_llm_type = llm_type
        field_dict["llm_type"] = json_llm_type
        json_size = size
        field_dict["size"] = json_size
        json_sha256 = sha256
        field_dict["sha256"] = json_sha256
        json_content_type = content_type
        field_dict["content_type"] = json_content_type
        json_created_at = created_at.isoformat()
        field_dict["created_at"] = json_created_at
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "artifact_id" in self:
            validate_field(self, "artifact_id", "artifact_id", str)
        if "session_id" in self:
            validate_field(self, "session_id", "session_id", str)
        if "artifact_type" in self:
            validate_field(self, "artifact_type", "artifact_type", str)
        if "name" in self:
            validate_field(self, "name", "name", str)
        if "llm_type" in self:
            validate_field(self, "llm_type", "llm_type", None | str)
        if "size" in self:
            validate_field(self, "size", "size", int)
        if "sha256" in self:
            validate_field(self, "sha256", "sha256", str)
        if "content_type" in self:
            validate_field(self, "content_type", "content_type", str)
        if "created_at" in self:
            validate_field(self, "created_at", "created_at", datetime.datetime)

    @property
    def artifact_id(self) -> str:

        if "artifact_id" not in self:
            raise missing_field(self, "artifact_id")
        return cast(str, self["artifact_id"])

    @property
    def session_id(self) -> str:

        if "session_id" not in self:
            raise missing_field(self, "session_id")
        return cast(str, self["session_id"])

    @property
    def artifact_type(self) -> str:

        if "artifact_type" not in self:
            raise missing_field(self, "artifact_type")
        return cast(str, self["artifact_type"])

    @property
    def name(self) -> str:

        if "name" not in self:
            raise missing_field(self, "name")
        return cast(str, self["name"])

    @property
    def llm_type(self) -> None | str:

        if self.get("llm_type") is None:
            return None

        def _parse_llm_type(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        llm_type = _parse_llm_type(self["llm_type"])

        return llm_type

    @property
    def size(self) -> int:
        """Bytes."""

        if "size" not in self:
            raise missing_field(self, "size")
        return cast(int, self["size"])

    @property
    def sha256(self) -> str:
        """Lowercase hex sha256 of the bytes."""

        if "sha256" not in self:
            raise missing_field(self, "sha256")
        return cast(str, self["sha256"])

    @property
    def content_type(self) -> str:
        """The media type sent with the file part."""

        if "content_type" not in self:
            raise missing_field(self, "content_type")
        return cast(str, self["content_type"])

    @property
    def created_at(self) -> datetime.datetime:

        if "created_at" not in self:
            raise missing_field(self, "created_at")
        created_at = datetime.datetime.fromisoformat(self["created_at"])

        return created_at
