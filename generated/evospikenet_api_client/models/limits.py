from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Limits")


@_attrs_define
class Limits:
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
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
