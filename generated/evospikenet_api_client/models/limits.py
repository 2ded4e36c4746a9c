from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class Limits(JSONModel):
    """
    Attributes:
        max_prompt_chars (int): Longest prompt
        max_upload_bytes (int): Largest artifact upload
        max_media_bytes (int): Largest decoded image or audio of a prompt
        max_wait_seconds (float): Longest long-poll `wait`
        max_page_size (int): Largest `limit` of a list operation.
        max_new_tokens (int): Largest `max_length` of a generation.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "max_prompt_chars",
            "max_upload_bytes",
            "max_media_bytes",
            "max_wait_seconds",
            "max_page_size",
            "max_new_tokens",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "max_prompt_chars",
        "max_upload_bytes",
        "max_media_bytes",
        "max_wait_seconds",
        "max_page_size",
        "max_new_tokens",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        max_prompt_chars: int,
        max_upload_bytes: int,
        max_media_bytes: int,
        max_wait_seconds: float,
        max_page_size: int,
        max_new_tokens: int,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_max_prompt_chars = max_prompt_chars
        field_dict["max_prompt_chars"] = json_max_prompt_chars
        json_max_upload_bytes = max_upload_bytes
        field_dict["max_upload_bytes"] = json_max_upload_bytes
        json_max_media_bytes = max_media_bytes
        field_dict["max_media_bytes"] = json_max_media_bytes
        json_max_wait_seconds = max_wait_seconds
        field_dict["max_wait_seconds"] = json_max_wait_seconds
        json_max_page_size = max_page_size
        field_dict["max_page_size"] = json_max_page_size
        json_max_new_tokens = max_new_tokens
        field_dict["max_new_tokens"] = json_max_new_tokens
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "max_prompt_chars" in self:
            validate_field(self, "max_prompt_chars", "max_prompt_chars", int)
        if "max_upload_bytes" in self:
            validate_field(self, "max_upload_bytes", "max_upload_bytes", int)
        if "max_media_bytes" in self:
            validate_field(self, "max_media_bytes", "max_media_bytes", int)
        if "max_wait_seconds" in self:
            validate_field(self, "max_wait_seconds", "max_wait_seconds", float | int)
        if "max_page_size" in self:
            validate_field(self, "max_page_size", "max_page_size", int)
        if "max_new_tokens" in self:
            validate_field(self, "max_new_tokens", "max_new_tokens", int)

    @property
    def max_prompt_chars(self) -> int:
        """Longest prompt"""

        if "max_prompt_chars" not in self:
            raise missing_field(self, "max_prompt_chars")
        return cast(int, self["max_prompt_chars"])

    @property
    def max_upload_bytes(self) -> int:
        """Largest artifact upload"""

        if "max_upload_bytes" not in self:
            raise missing_field(self, "max_upload_bytes")
        return cast(int, self["max_upload_bytes"])

    @property
    def max_media_bytes(self) -> int:
        """Largest decoded image or audio of a prompt"""

        if "max_media_bytes" not in self:
            raise missing_field(self, "max_media_bytes")
        return cast(int, self["max_media_bytes"])

    @property
    def max_wait_seconds(self) -> float:
        """Longest long-poll `wait`"""

        if "max_wait_seconds" not in self:
            raise missing_field(self, "max_wait_seconds")
        return cast(float, self["max_wait_seconds"])

    @property
    def max_page_size(self) -> int:
        """Largest `limit` of a list operation."""

        if "max_page_size" not in self:
            raise missing_field(self, "max_page_size")
        return cast(int, self["max_page_size"])

    @property
    def max_new_tokens(self) -> int:
        """Largest `max_length` of a generation."""

        if "max_new_tokens" not in self:
            raise missing_field(self, "max_new_tokens")
        return cast(int, self["max_new_tokens"])
