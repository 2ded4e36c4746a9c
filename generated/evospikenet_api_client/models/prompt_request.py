from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="PromptRequest")


@_attrs_define
class PromptRequest:
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
