from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class SessionCreate(JSONModel):
    """
    Attributes:
        description (str): What the experiment is.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "description",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = ("description",)
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        description: str,
    ) -> None:
        field_dict: dict[str, Any] = {}
        json_description = description
        field_dict["description"] = json_description
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "description" in self:
            validate_field(self, "description", "description", str)

    @property
    def description(self) -> str:
        """What the experiment is."""

        if "description" not in self:
            raise missing_field(self, "description")
        return cast(str, self["description"])
