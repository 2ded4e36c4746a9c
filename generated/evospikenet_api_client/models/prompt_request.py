from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import UNSET, JSONModel, Unset, validate_field


class PromptRequest(JSONModel):
    """At least one of `prompt`, `image`, `audio` (the `not` below says so).

    Attributes:
        prompt (str | Unset): The text of the prompt.
        image (str | Unset): The raw file bytes, standard base64 without line breaks or a data-URL prefix.
        audio (str | Unset): The raw file bytes, standard base64 without line breaks or a data-URL prefix.
        priority (int | Unset): Higher runs first; equal priorities run in order of arrival. Default: 5.
        session_id (str | Unset): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be UUIDs).
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "prompt",
            "image",
            "audio",
            "priority",
            "session_id",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = ()
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        prompt: str | Unset = UNSET,
        image: str | Unset = UNSET,
        audio: str | Unset = UNSET,
        priority: int | Unset = 5,
        session_id: str | Unset = UNSET,
    ) -> None:
        field_dict: dict[str, Any] = {}
        json_prompt = prompt
        if json_prompt is not UNSET:
            field_dict["prompt"] = json_prompt
        json_image = image
        if json_image is not UNSET:
            field_dict["image"] = json_image
        json_audio = audio
        if json_audio is not UNSET:
            field_dict["audio"] = json_audio
        json_priority = priority
        if json_priority is not UNSET:
            field_dict["priority"] = json_priority
        json_session_id = session_id
        if json_session_id is not UNSET:
            field_dict["session_id"] = json_session_id
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "prompt" in self:
            validate_field(self, "prompt", "prompt", str)
        if "image" in self:
            validate_field(self, "image", "image", str)
        if "audio" in self:
            validate_field(self, "audio", "audio", str)
        if "priority" in self:
            validate_field(self, "priority", "priority", int)
        if "session_id" in self:
            validate_field(self, "session_id", "session_id", str)

    @property
    def prompt(self) -> str | Unset:
        """The text of the prompt."""

        return cast(str | Unset, self.get("prompt", UNSET))

    @property
    def image(self) -> str | Unset:
        """The raw file bytes, standard base64 without line breaks or a data-URL prefix."""

        return cast(str | Unset, self.get("image", UNSET))

    @property
    def audio(self) -> str | Unset:
        """The raw file bytes, standard base64 without line breaks or a data-URL prefix."""

        return cast(str | Unset, self.get("audio", UNSET))

    @property
    def priority(self) -> int | Unset:
        """Higher runs first; equal priorities run in order of arrival."""

        return cast(int | Unset, self.get("priority", UNSET))

    @property
    def session_id(self) -> str | Unset:
        """An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be UUIDs)."""

        return cast(str | Unset, self.get("session_id", UNSET))
