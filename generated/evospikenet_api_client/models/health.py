from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.health_state import HealthState

if TYPE_CHECKING:
    from ..models.health_components import HealthComponents


T = TypeVar("T", bound="Health")


@_attrs_define
class Health:
    """
    Attributes:
        status (HealthState):
        version (str): The server's package version.
        api_version (str): The version of this API contract.
        components (HealthComponents):
    """

    status: HealthState
    version: str
    api_version: str
    components: HealthComponents
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        version = self.version

        api_version = self.api_version

        components = self.components.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "version": version,
                "api_version": api_version,
                "components": components,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.health_components import HealthComponents

        d = dict(src_dict)
        status = HealthState(d.pop("status"))

        version = d.pop("version")

        api_version = d.pop("api_version")

        components = HealthComponents.from_dict(d.pop("components"))

        health = cls(
            status=status,
            version=version,
            api_version=api_version,
            components=components,
        )

        health.additional_properties = d
        return health

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
