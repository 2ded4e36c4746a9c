from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.health_state import HealthState

if TYPE_CHECKING:
    from ..models.health_components import HealthComponents


T = TypeVar("T", bound="Health")


@_attrs_define(eq=False)
class Health(Mapping[str, Any]):
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
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

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
