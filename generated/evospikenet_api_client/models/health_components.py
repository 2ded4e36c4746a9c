from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..types import JSONModel, missing_field, validate_field

if TYPE_CHECKING:
    from ..models.component_health import ComponentHealth


class HealthComponents(JSONModel):
    """
    Attributes:
        database (ComponentHealth):
        blob_store (ComponentHealth):
        model (ComponentHealth):
        simulation (ComponentHealth):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "database",
            "blob_store",
            "model",
            "simulation",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "database",
        "blob_store",
        "model",
        "simulation",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        database: ComponentHealth,
        blob_store: ComponentHealth,
        model: ComponentHealth,
        simulation: ComponentHealth,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_database = database.to_dict()
        field_dict["database"] = json_database
        json_blob_store = blob_store.to_dict()
        field_dict["blob_store"] = json_blob_store
        json_model = model.to_dict()
        field_dict["model"] = json_model
        json_simulation = simulation.to_dict()
        field_dict["simulation"] = json_simulation
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        from ..models.component_health import ComponentHealth

        if "database" in self:
            validate_field(self, "database", "database", ComponentHealth)
        if "blob_store" in self:
            validate_field(self, "blob_store", "blob_store", ComponentHealth)
        if "model" in self:
            validate_field(self, "model", "model", ComponentHealth)
        if "simulation" in self:
            validate_field(self, "simulation", "simulation", ComponentHealth)

    @property
    def database(self) -> ComponentHealth:
        from ..models.component_health import ComponentHealth

        if "database" not in self:
            raise missing_field(self, "database")
        database = ComponentHealth.from_dict(self["database"])

        return database

    @property
    def blob_store(self) -> ComponentHealth:
        from ..models.component_health import ComponentHealth

        if "blob_store" not in self:
            raise missing_field(self, "blob_store")
        blob_store = ComponentHealth.from_dict(self["blob_store"])

        return blob_store

    @property
    def model(self) -> ComponentHealth:
        from ..models.component_health import ComponentHealth

        if "model" not in self:
            raise missing_field(self, "model")
        model = ComponentHealth.from_dict(self["model"])

        return model

    @property
    def simulation(self) -> ComponentHealth:
        from ..models.component_health import ComponentHealth

        if "simulation" not in self:
            raise missing_field(self, "simulation")
        simulation = ComponentHealth.from_dict(self["simulation"])

        return simulation
