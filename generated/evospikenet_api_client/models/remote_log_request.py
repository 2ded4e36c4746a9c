from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import UNSET, JSONModel, Unset, missing_field, validate_field


class RemoteLogRequest(JSONModel):
    """
    Attributes:
        user (str):
        ip (str): The host as named in the server's nodes file.
        key_path (str): Accepted for compatibility; only resolved among the server's configured keys.
        log_file_path (str): An absolute path inside a directory configured for that host.
        lines (int | Unset): How many last lines. Default: 100.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "user",
            "ip",
            "key_path",
            "log_file_path",
            "lines",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "user",
        "ip",
        "key_path",
        "log_file_path",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        user: str,
        ip: str,
        key_path: str,
        log_file_path: str,
        lines: int | Unset = 100,
    ) -> None:
        field_dict: dict[str, Any] = {}
        json_user = user
        field_dict["user"] = json_user
        json_ip = ip
        field_dict["ip"] = json_ip
        json_key_path = key_path
        field_dict["key_path"] = json_key_path
        json_log_file_path = log_file_path
        field_dict["log_file_path"] = json_log_file_path
        json_lines = lines
        if json_lines is not UNSET:
            field_dict["lines"] = json_lines
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "user" in self:
            validate_field(self, "user", "user", str)
        if "ip" in self:
            validate_field(self, "ip", "ip", str)
        if "key_path" in self:
            validate_field(self, "key_path", "key_path", str)
        if "log_file_path" in self:
            validate_field(self, "log_file_path", "log_file_path", str)
        if "lines" in self:
            validate_field(self, "lines", "lines", int)

    @property
    def user(self) -> str:

        if "user" not in self:
            raise missing_field(self, "user")
        return cast(str, self["user"])

    @property
    def ip(self) -> str:
        """The host as named in the server's nodes file."""

        if "ip" not in self:
            raise missing_field(self, "ip")
        return cast(str, self["ip"])

    @property
    def key_path(self) -> str:
        """Accepted for compatibility; only resolved among the server's configured keys."""

        if "key_path" not in self:
            raise missing_field(self, "key_path")
        return cast(str, self["key_path"])

    @property
    def log_file_path(self) -> str:
        """An absolute path inside a directory configured for that host."""

        if "log_file_path" not in self:
            raise missing_field(self, "log_file_path")
        return cast(str, self["log_file_path"])

    @property
    def lines(self) -> int | Unset:
        """How many last lines."""

        return cast(int | Unset, self.get("lines", UNSET))
