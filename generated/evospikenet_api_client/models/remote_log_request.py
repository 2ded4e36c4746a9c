from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RemoteLogRequest")


@_attrs_define(eq=False)
class RemoteLogRequest(Mapping[str, Any]):
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
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

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

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def keys(self) -> KeysView[str]:
        return self.to_dict().keys()

    def items(self) -> ItemsView[str, Any]:
        return self.to_dict().items()

    def values(self) -> ValuesView[Any]:
        return self.to_dict().values()
