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

from ..models.prompt_state import PromptState

if TYPE_CHECKING:
    from ..models.node_status import NodeStatus


T = TypeVar("T", bound="SimulationStatus")


@_attrs_define(eq=False)
class SimulationStatus(Mapping[str, Any]):
    """
    Attributes:
        nodes (list[NodeStatus]):
        active_nodes (int): Nodes not offline.
        queue_depth (int): Prompts waiting for a node.
        running (int): Prompts a node is working on.
        last_prompt_status (None | PromptState): The state of the most recently submitted prompt.
        last_prompt_id (None | str):
    """

    nodes: list[NodeStatus]
    active_nodes: int
    queue_depth: int
    running: int
    last_prompt_status: None | PromptState
    last_prompt_id: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for nodes_item_data in self.nodes:
            nodes_item = nodes_item_data.to_dict()
            nodes.append(nodes_item)

        active_nodes = self.active_nodes

        queue_depth = self.queue_depth

        running = self.running

        last_prompt_status: None | str
        if isinstance(self.last_prompt_status, PromptState):
            last_prompt_status = self.last_prompt_status.value
        else:
            last_prompt_status = self.last_prompt_status

        last_prompt_id: None | str
        last_prompt_id = self.last_prompt_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "nodes": nodes,
                "active_nodes": active_nodes,
                "queue_depth": queue_depth,
                "running": running,
                "last_prompt_status": last_prompt_status,
                "last_prompt_id": last_prompt_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.node_status import NodeStatus

        d = dict(src_dict)
        nodes = []
        _nodes = d.pop("nodes")
        for nodes_item_data in _nodes:
            nodes_item = NodeStatus.from_dict(nodes_item_data)

            nodes.append(nodes_item)

        active_nodes = d.pop("active_nodes")

        queue_depth = d.pop("queue_depth")

        running = d.pop("running")

        def _parse_last_prompt_status(data: object) -> None | PromptState:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_prompt_status_type_0 = PromptState(data)

                return last_prompt_status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PromptState, data)

        last_prompt_status = _parse_last_prompt_status(d.pop("last_prompt_status"))

        def _parse_last_prompt_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_prompt_id = _parse_last_prompt_id(d.pop("last_prompt_id"))

        simulation_status = cls(
            nodes=nodes,
            active_nodes=active_nodes,
            queue_depth=queue_depth,
            running=running,
            last_prompt_status=last_prompt_status,
            last_prompt_id=last_prompt_id,
        )

        simulation_status.additional_properties = d
        return simulation_status

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
