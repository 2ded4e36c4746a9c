from __future__ import annotations

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

from ..models.node_state import NodeState
from ..types import UNSET, Unset

T = TypeVar("T", bound="NodeReport")


@_attrs_define(eq=False)
class NodeReport(Mapping[str, Any]):
    """
    Attributes:
        node_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be UUIDs).
        rank (int):
        type_ (str): The node's role, e.g. `coordinator`, `language`, `vision`, `auditory`, `motor`.
        status (NodeState):
        prompts_done (int | Unset):
        spike_rate (float | Unset):
        host (str | Unset):
    """

    node_id: str
    rank: int
    type_: str
    status: NodeState
    prompts_done: int | Unset = UNSET
    spike_rate: float | Unset = UNSET
    host: str | Unset = UNSET
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        node_id = self.node_id

        rank = self.rank

        type_ = self.type_

        status = self.status.value

        prompts_done = self.prompts_done

        spike_rate = self.spike_rate

        host = self.host

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "node_id": node_id,
                "rank": rank,
                "type": type_,
                "status": status,
            }
        )
        if prompts_done is not UNSET:
            field_dict["prompts_done"] = prompts_done
        if spike_rate is not UNSET:
            field_dict["spike_rate"] = spike_rate
        if host is not UNSET:
            field_dict["host"] = host

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        node_id = d.pop("node_id")

        rank = d.pop("rank")

        type_ = d.pop("type")

        status = NodeState(d.pop("status"))

        prompts_done = d.pop("prompts_done", UNSET)

        spike_rate = d.pop("spike_rate", UNSET)

        host = d.pop("host", UNSET)

        node_report = cls(
            node_id=node_id,
            rank=rank,
            type_=type_,
            status=status,
            prompts_done=prompts_done,
            spike_rate=spike_rate,
            host=host,
        )

        return node_report

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
