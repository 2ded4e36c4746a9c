from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class RemoteLog(JSONModel):
    """
    Attributes:
        log_content (str): The last lines of the log.
        lines (int): Lines returned.
        host (str):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "log_content",
            "lines",
            "host",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "log_content",
        "lines",
        "host",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        log_content: str,
        lines: int,
        host: str,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_log_content = log_content
        field_dict["log_content"] = json_log_content
        json_lines = lines
        field_dict["lines"] = json_lines
        json_host = host
        field_dict["host"] = json_host
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "log_content" in self:
            validate_field(self, "log_content", "log_content", str)
        if "lines" in self:
            validate_field(self, "lines", "lines", int)
        if "host" in self:
            validate_field(self, "host", "host", str)

    @property
    def log_content(self) -> str:
        """The last lines of the log."""

        if "log_content" not in self:
            raise missing_field(self, "log_content")
        return cast(str, self["log_content"])

    @property
    def lines(self) -> int:
        """Lines returned."""

        if "lines" not in self:
            raise missing_field(self, "lines")
        return cast(int, self["lines"])

    @property
    def host(self) -> str:

        if "host" not in self:
            raise missing_field(self, "host")
        return cast(str, self["host"])
