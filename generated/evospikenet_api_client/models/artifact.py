from __future__ import annotations

import datetime
from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Artifact")


@_attrs_define(eq=False)
class Artifact(Mapping[str, Any]):
    """
    Attributes:
        artifact_id (str):
        session_id (str):
        artifact_type (str):
        name (str):
        llm_type (None | str):
        size (int): Bytes.
        sha256 (str): Lowercase hex sha256 of the bytes.
        content_type (str): The media type sent with the file part.
        created_at (datetime.datetime):
    """

    artifact_id: str
    session_id: str
    artifact_type: str
    name: str
    llm_type: None | str
    size: int
    sha256: str
    content_type: str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        artifact_id = self.artifact_id

        session_id = self.session_id

        artifact_type = self.artifact_type

        name = self.name

        llm_type: None | str
        llm_type = self.llm_type

        size = self.size

        sha256 = self.sha256

        content_type = self.content_type

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "artifact_id": artifact_id,
                "session_id": session_id,
                "artifact_type": artifact_type,
                "name": name,
                "llm_type": llm_type,
                "size": size,
                "sha256": sha256,
                "content_type": content_type,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        artifact_id = d.pop("artifact_id")

        session_id = d.pop("session_id")

        artifact_type = d.pop("artifact_type")

        name = d.pop("name")

        def _parse_llm_type(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        llm_type = _parse_llm_type(d.pop("llm_type"))

        size = d.pop("size")

        sha256 = d.pop("sha256")

        content_type = d.pop("content_type")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        artifact = cls(
            artifact_id=artifact_id,
            session_id=session_id,
            artifact_type=artifact_type,
            name=name,
            llm_type=llm_type,
            size=size,
            sha256=sha256,
            content_type=content_type,
            created_at=created_at,
        )

        artifact.additional_properties = d
        return artifact

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
