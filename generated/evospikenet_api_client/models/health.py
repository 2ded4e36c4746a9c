from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..models.health_state import HealthState
from ..types import JSONModel, missing_field, validate_field

if TYPE_CHECKING:
    from ..models.health_components import HealthComponents


class Health(JSONModel):
    """
    Attributes:
        status (HealthState):
        version (str): The server's package version.
        api_version (str): The version of this API contract.
        components (HealthComponents):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "status",
            "version",
            "api_version",
            "components",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "status",
        "version",
        "api_version",
        "components",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ("status",)
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        status: HealthState,
        version: str,
        api_version: str,
        components: HealthComponents,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_status = status.value
        field_dict["status"] = json_status
        json_version = version
        field_dict["version"] = json_version
        json_api_version = api_version
        field_dict["api_version"] = json_api_version
        json_components = components.to_dict()
        field_dict["components"] = json_components
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        from ..models.health_components import HealthComponents

        if "status" in self:
            validate_field(self, "status", "status", HealthState)
        if "version" in self:
            validate_field(self, "version", "version", str)
        if "api_version" in self:
            validate_field(self, "api_version", "api_version", str)
        if "components" in self:
            validate_field(self, "components", "components", HealthComponents)

    @property
    def status(self) -> HealthState:

        if "status" not in self:
            raise missing_field(self, "status")
        status = HealthState(self["status"])

        return status

    @property
    def version(self) -> str:
        """The server's package version."""

        if "version" not in self:
            raise missing_field(self, "version")
        return cast(str, self["version"])

    @property
    def api_version(self) -> str:
        """The version of this API contract."""

        if "api_version" not in self:
            raise missing_field(self, "api_version")
        return cast(str, self["api_version"])

    @property
    def components(self) -> HealthComponents:
        from ..models.health_components import HealthComponents

        if "components" not in self:
            raise missing_field(self, "components")
        components = HealthComponents.from_dict(self["components"])

        return components
