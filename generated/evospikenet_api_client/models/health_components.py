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

if TYPE_CHECKING:
    from ..models.component_health import ComponentHealth


T = TypeVar("T", bound="HealthComponents")


@_attrs_define(eq=False)
class HealthComponents(Mapping[str, Any]):
    """
    Attributes:
        database (ComponentHealth):
        blob_store (ComponentHealth):
        model (ComponentHealth):
        simulation (ComponentHealth):
    """

    database: ComponentHealth
    blob_store: ComponentHealth
    model: ComponentHealth
    simulation: ComponentHealth
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        database = self.database.to_dict()

        blob_store = self.blob_store.to_dict()

        model = self.model.to_dict()

        simulation = self.simulation.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "database": database,
                "blob_store": blob_store,
                "model": model,
                "simulation": simulation,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.component_health import ComponentHealth

        d = dict(src_dict)
        database = ComponentHealth.from_dict(d.pop("database"))

        blob_store = ComponentHealth.from_dict(d.pop("blob_store"))

        model = ComponentHealth.from_dict(d.pop("model"))

        simulation = ComponentHealth.from_dict(d.pop("simulation"))

        health_components = cls(
            database=database,
            blob_store=blob_store,
            model=model,
            simulation=simulation,
        )

        health_components.additional_properties = d
        return health_components

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
