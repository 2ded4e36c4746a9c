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

from ..models.node_state import NodeState

T = TypeVar("T", bound="NodeStatus")


@_attrs_define(eq=False)
class NodeStatus(Mapping[str, Any]):
    """
    Attributes:
        id (str):
        rank (int):
        type_ (str):
        status (NodeState):
        last_heartbeat (datetime.datetime | None):
        prompts_done (int):
        spike_rate (float | None): Fraction of neurons spiking per time step in the node's last work.
        host (None | str):
    """

    id: str
    rank: int
    type_: str
    status: NodeState
    last_heartbeat: datetime.datetime | None
    prompts_done: int
    spike_rate: float | None
    host: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        rank = self.rank

        type_ = self.type_

        status = self.status.value

        last_heartbeat: None | str
        if isinstance(self.last_heartbeat, datetime.datetime):
            last_heartbeat = self.last_heartbeat.isoformat()
        else:
            last_heartbeat = self.last_heartbeat

        prompts_done = self.prompts_done

        spike_rate: float | None
        spike_rate = self.spike_rate

        host: None | str
        host = self.host

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "rank": rank,
                "type": type_,
                "status": status,
                "last_heartbeat": last_heartbeat,
                "prompts_done": prompts_done,
                "spike_rate": spike_rate,
                "host": host,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        rank = d.pop("rank")

        type_ = d.pop("type")

        status = NodeState(d.pop("status"))

        def _parse_last_heartbeat(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_heartbeat_type_0 = datetime.datetime.fromisoformat(data)

                return last_heartbeat_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_heartbeat = _parse_last_heartbeat(d.pop("last_heartbeat"))

        prompts_done = d.pop("prompts_done")

        def _parse_spike_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        spike_rate = _parse_spike_rate(d.pop("spike_rate"))

        def _parse_host(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        host = _parse_host(d.pop("host"))

        node_status = cls(
            id=id,
            rank=rank,
            type_=type_,
            status=status,
            last_heartbeat=last_heartbeat,
            prompts_done=prompts_done,
            spike_rate=spike_rate,
            host=host,
        )

        node_status.additional_properties = d
        return node_status

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
