from __future__ import annotations

from typing import Any, ClassVar

from ..types import JSONModel


class ServedModelConfig(JSONModel):
    """The effective model config (unknown keys of the uploaded config dropped)."""

    _fields: ClassVar[frozenset[str]] = frozenset({})
    _required_fields: ClassVar[tuple[str, ...]] = ()
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        super().__init__(field_dict)
