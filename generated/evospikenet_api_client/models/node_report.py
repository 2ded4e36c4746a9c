from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.node_state import NodeState
from ..types import UNSET, Unset

T = TypeVar("T", bound="NodeReport")


@_attrs_define
class NodeReport:
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
