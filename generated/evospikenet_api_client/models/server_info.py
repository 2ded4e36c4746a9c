from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.limits import Limits
    from ..models.served_model import ServedModel


T = TypeVar("T", bound="ServerInfo")


@_attrs_define(eq=False)
class ServerInfo(Mapping[str, Any]):
    """
    Attributes:
        version (str):
        api_version (str):
        model (None | ServedModel): The model being served, or null while none is loaded.
        model_error (None | str): Why the newest model upload could not be loaded, when it could not.
        limits (Limits):
    """

    version: str
    api_version: str
    model: None | ServedModel
    model_error: None | str
    limits: Limits
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        from ..models.served_model import ServedModel

        version = self.version

        api_version = self.api_version

        model: dict[str, Any] | None
        if isinstance(self.model, ServedModel):
            model = self.model.to_dict()
        else:
            model = self.model

        model_error: None | str
        model_error = self.model_error

        limits = self.limits.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "api_version": api_version,
                "model": model,
                "model_error": model_error,
                "limits": limits,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.limits import Limits
        from ..models.served_model import ServedModel

        d = dict(src_dict)
        version = d.pop("version")

        api_version = d.pop("api_version")

        def _parse_model(data: object) -> None | ServedModel:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                model_type_0 = ServedModel.from_dict(data)

                return model_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ServedModel, data)

        model = _parse_model(d.pop("model"))

        def _parse_model_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        model_error = _parse_model_error(d.pop("model_error"))

        limits = Limits.from_dict(d.pop("limits"))

        server_info = cls(
            version=version,
            api_version=api_version,
            model=model,
            model_error=model_error,
            limits=limits,
        )

        server_info.additional_properties = d
        return server_info

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
