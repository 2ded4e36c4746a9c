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

T = TypeVar("T", bound="PromptRequest")


@_attrs_define(eq=False)
class PromptRequest(Mapping[str, Any]):
    """At least one of `prompt`, `image`, `audio` (the `not` below says so).

    Attributes:
        prompt (str | Unset): The text of the prompt.
        image (str | Unset): The raw file bytes, standard base64 without line breaks or a data-URL prefix.
        audio (str | Unset): The raw file bytes, standard base64 without line breaks or a data-URL prefix.
        priority (int | Unset): Higher runs first; equal priorities run in order of arrival. Default: 5.
        session_id (str | Unset): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be UUIDs).
    """

    prompt: str | Unset = UNSET
    image: str | Unset = UNSET
    audio: str | Unset = UNSET
    priority: int | Unset = 5
    session_id: str | Unset = UNSET
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        image = self.image

        audio = self.audio

        priority = self.priority

        session_id = self.session_id

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if prompt is not UNSET:
            field_dict["prompt"] = prompt
        if image is not UNSET:
            field_dict["image"] = image
        if audio is not UNSET:
            field_dict["audio"] = audio
        if priority is not UNSET:
            field_dict["priority"] = priority
        if session_id is not UNSET:
            field_dict["session_id"] = session_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        prompt = d.pop("prompt", UNSET)

        image = d.pop("image", UNSET)

        audio = d.pop("audio", UNSET)

        priority = d.pop("priority", UNSET)

        session_id = d.pop("session_id", UNSET)

        prompt_request = cls(
            prompt=prompt,
            image=image,
            audio=audio,
            priority=priority,
            session_id=session_id,
        )

        return prompt_request

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
