from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import UNSET, JSONModel, Unset, missing_field, validate_field


class FieldError(JSONModel):
    """
    Attributes:
        field (str): Where the failing value is, e.g. `body.max_length` or `query.limit`.
        message (str): Why it failed.
        type_ (str | Unset): A machine-readable kind of failure.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "field",
            "message",
            "type",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "field",
        "message",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        field: str,
        message: str,
        type_: str | Unset = UNSET,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_field = field
        field_dict["field"] = json_field
        json_message = message
        field_dict["message"] = json_message
        json_type_ = type_
        if json_type_ is not UNSET:
            field_dict["type"] = json_type_
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "field" in self:
            validate_field(self, "field", "field", str)
        if "message" in self:
            validate_field(self, "message", "message", str)
        if "type" in self:
            validate_field(self, "type", "type_", str)

    @property
    def field(self) -> str:
        """Where the failing value is, e.g. `body.max_length` or `query.limit`."""

        if "field" not in self:
            raise missing_field(self, "field")
        return cast(str, self["field"])

    @property
    def message(self) -> str:
        """Why it failed."""

        if "message" not in self:
            raise missing_field(self, "message")
        return cast(str, self["message"])

    @property
    def type_(self) -> str | Unset:
        """A machine-readable kind of failure."""

        return cast(str | Unset, self.get("type", UNSET))
