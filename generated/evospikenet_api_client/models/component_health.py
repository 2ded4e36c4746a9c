from __future__ import annotations

from typing import Any, ClassVar, cast

from ..models.health_state import HealthState
from ..types import JSONModel, missing_field, validate_field


class ComponentHealth(JSONModel):
    """
    Attributes:
        status (HealthState):
        detail (None | str): Why the component is not healthy, or a short fact about it.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "status",
            "detail",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "status",
        "detail",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        status: HealthState,
        detail: None | str,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_status = status.value
        field_dict["status"] = json_status
        json_detail: None | str
        json_detail = detail
        field_dict["detail"] = json_detail
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "status" in self:
            validate_field(self, "status", "status", HealthState)
        if "detail" in self:
            validate_field(self, "detail", "detail", None | str)

    @property
    def status(self) -> HealthState:

        if "status" not in self:
            raise missing_field(self, "status")
        status = HealthState(self["status"])

        return status

    @property
    def detail(self) -> None | str:
        """Why the component is not healthy, or a short fact about it."""

        if self.get("detail") is None:
            return None

        def _parse_detail(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        detail = _parse_detail(self["detail"])

        return detail
