from __future__ import annotations

import datetime
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
    from ..models.model_artifact_ids import ModelArtifactIds
    from ..models.served_model_config import ServedModelConfig


T = TypeVar("T", bound="ServedModel")


@_attrs_define(eq=False)
class ServedModel(Mapping[str, Any]):
    """
    Attributes:
        llm_type (str):
        session_id (str): The model session the weights came from.
        artifact_ids (ModelArtifactIds):
        config (ServedModelConfig): The effective model config (unknown keys of the uploaded config dropped).
        bundled_default (bool): True for the small model that ships with the server.
        loaded_at (datetime.datetime):
    """

    llm_type: str
    session_id: str
    artifact_ids: ModelArtifactIds
    config: ServedModelConfig
    bundled_default: bool
    loaded_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        llm_type = self.llm_type

        session_id = self.session_id

        artifact_ids = self.artifact_ids.to_dict()

        config = self.config.to_dict()

        bundled_default = self.bundled_default

        loaded_at = self.loaded_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "llm_type": llm_type,
                "session_id": session_id,
                "artifact_ids": artifact_ids,
                "config": config,
                "bundled_default": bundled_default,
                "loaded_at": loaded_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.model_artifact_ids import ModelArtifactIds
        from ..models.served_model_config import ServedModelConfig

        d = dict(src_dict)
        llm_type = d.pop("llm_type")

        session_id = d.pop("session_id")

        artifact_ids = ModelArtifactIds.from_dict(d.pop("artifact_ids"))

        config = ServedModelConfig.from_dict(d.pop("config"))

        bundled_default = d.pop("bundled_default")

        loaded_at = datetime.datetime.fromisoformat(d.pop("loaded_at"))

        served_model = cls(
            llm_type=llm_type,
            session_id=session_id,
            artifact_ids=artifact_ids,
            config=config,
            bundled_default=bundled_default,
            loaded_at=loaded_at,
        )

        served_model.additional_properties = d
        return served_model

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
