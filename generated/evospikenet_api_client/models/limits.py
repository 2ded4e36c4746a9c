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

T = TypeVar("T", bound="Limits")


@_attrs_define(eq=False)
class Limits(Mapping[str, Any]):
    """
    Attributes:
        max_prompt_chars (int): Longest prompt
        max_upload_bytes (int): Largest artifact upload
        max_media_bytes (int): Largest decoded image or audio of a prompt
        max_wait_seconds (float): Longest long-poll `wait`
        max_page_size (int): Largest `limit` of a list operation.
        max_new_tokens (int): Largest `max_length` of a generation.
    """

    max_prompt_chars: int
    max_upload_bytes: int
    max_media_bytes: int
    max_wait_seconds: float
    max_page_size: int
    max_new_tokens: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        max_prompt_chars = self.max_prompt_chars

        max_upload_bytes = self.max_upload_bytes

        max_media_bytes = self.max_media_bytes

        max_wait_seconds = self.max_wait_seconds

        max_page_size = self.max_page_size

        max_new_tokens = self.max_new_tokens

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "max_prompt_chars": max_prompt_chars,
                "max_upload_bytes": max_upload_bytes,
                "max_media_bytes": max_media_bytes,
                "max_wait_seconds": max_wait_seconds,
                "max_page_size": max_page_size,
                "max_new_tokens": max_new_tokens,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        max_prompt_chars = d.pop("max_prompt_chars")

        max_upload_bytes = d.pop("max_upload_bytes")

        max_media_bytes = d.pop("max_media_bytes")

        max_wait_seconds = d.pop("max_wait_seconds")

        max_page_size = d.pop("max_page_size")

        max_new_tokens = d.pop("max_new_tokens")

        limits = cls(
            max_prompt_chars=max_prompt_chars,
            max_upload_bytes=max_upload_bytes,
            max_media_bytes=max_media_bytes,
            max_wait_seconds=max_wait_seconds,
            max_page_size=max_page_size,
            max_new_tokens=max_new_tokens,
        )

        limits.additional_properties = d
        return limits

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

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
