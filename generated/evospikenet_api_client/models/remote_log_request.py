from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RemoteLogRequest")


@_attrs_define
class RemoteLogRequest:
    """
    Attributes:
        user (str):
        ip (str): The host as named in the server's nodes file.
        key_path (str): Accepted for compatibility; only resolved among the server's configured keys.
        log_file_path (str): An absolute path inside a directory configured for that host.
        lines (int | Unset): How many last lines. Default: 100.
    """

    user: str
    ip: str
    key_path: str
    log_file_path: str
    lines: int | Unset = 100

    def to_dict(self) -> dict[str, Any]:
        user = self.user

        ip = self.ip

        key_path = self.key_path

        log_file_path = self.log_file_path

        lines = self.lines

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user": user,
                "ip": ip,
                "key_path": key_path,
                "log_file_path": log_file_path,
            }
        )
        if lines is not UNSET:
            field_dict["lines"] = lines

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        user = d.pop("user")

        ip = d.pop("ip")

        key_path = d.pop("key_path")

        log_file_path = d.pop("log_file_path")

        lines = d.pop("lines", UNSET)

        remote_log_request = cls(
            user=user,
            ip=ip,
            key_path=key_path,
            log_file_path=log_file_path,
            lines=lines,
        )

        return remote_log_request
