from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class GenerateChunk(JSONModel):
    """
    Attributes:
        text (str): The next piece of new text, whole characters only.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "text",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = ("text",)
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        text: str,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_text = text
        field_dict["text"] = json_text
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "text" in self:
            validate_field(self, "text", "text", str)

    @property
    def text(self) -> str:
        """The next piece of new text, whole characters only."""

        if "text" not in self:
            raise missing_field(self, "text")
        return cast(str, self["text"])
