from __future__ import annotations

import datetime
from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.prompt_state import PromptState

T = TypeVar("T", bound="PromptAccepted")


@_attrs_define(eq=False)
class PromptAccepted(Mapping[str, Any]):
    """
    Attributes:
        message (str):
        prompt_id (str):
        state (PromptState): `completed` and `failed` are terminal.
        created_at (datetime.datetime):
    """

    message: str
    prompt_id: str
    state: PromptState
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        prompt_id = self.prompt_id

        state = self.state.value

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
                "prompt_id": prompt_id,
                "state": state,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        message = d.pop("message")

        prompt_id = d.pop("prompt_id")

        state = PromptState(d.pop("state"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        prompt_accepted = cls(
            message=message,
            prompt_id=prompt_id,
            state=state,
            created_at=created_at,
        )

        prompt_accepted.additional_properties = d
        return prompt_accepted

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
