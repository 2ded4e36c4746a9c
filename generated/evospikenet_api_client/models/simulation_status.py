from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..models.prompt_state import PromptState
from ..types import JSONModel, missing_field, validate_field

if TYPE_CHECKING:
    from ..models.node_status import NodeStatus


class SimulationStatus(JSONModel):
    """
    Attributes:
        nodes (list[NodeStatus]):
        active_nodes (int): Nodes not offline.
        queue_depth (int): Prompts waiting for a node.
        running (int): Prompts a node is working on.
        last_prompt_status (None | PromptState): The state of the most recently submitted prompt.
        last_prompt_id (None | str):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "nodes",
            "active_nodes",
            "queue_depth",
            "running",
            "last_prompt_status",
            "last_prompt_id",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "nodes",
        "active_nodes",
        "queue_depth",
        "running",
        "last_prompt_status",
        "last_prompt_id",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        nodes: list[NodeStatus],
        active_nodes: int,
        queue_depth: int,
        running: int,
        last_prompt_status: None | PromptState,
        last_prompt_id: None | str,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_nodes = []
        for nodes_item_data in nodes:
            nodes_item = nodes_item_data.to_dict()
            json_nodes.append(nodes_item)

        field_dict["nodes"] = json_nodes
        json_active_nodes = active_nodes
        field_dict["active_nodes"] = json_active_nodes
        json_queue_depth = queue_depth
        field_dict["queue_depth"] = json_queue_depth
        json_running = running
        field_dict["running"] = json_running
        json_last_prompt_status: None | str
        if isinstance(last_prompt_status, PromptState):
            json_last_prompt_status = last_prompt_status.value
        else:
            json_last_prompt_status = last_prompt_status
        field_dict["last_prompt_status"] = json_last_prompt_status
        json_last_prompt_id: None | str
        json_last_prompt_id = last_prompt_id
        field_dict["last_prompt_id"] = json_last_prompt_id
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "nodes" in self:
            validate_field(self, "nodes", "nodes", list)
        if "active_nodes" in self:
            validate_field(self, "active_nodes", "active_nodes", int)
        if "queue_depth" in self:
            validate_field(self, "queue_depth", "queue_depth", int)
        if "running" in self:
            validate_field(self, "running", "running", int)
        if "last_prompt_status" in self:
            validate_field(
                self, "last_prompt_status", "last_prompt_status", None | PromptState
            )
        if "last_prompt_id" in self:
            validate_field(self, "last_prompt_id", "last_prompt_id", None | str)

    @property
    def nodes(self) -> list[NodeStatus]:
        from ..models.node_status import NodeStatus

        if "nodes" not in self:
            raise missing_field(self, "nodes")
        nodes = []
        _nodes = self["nodes"]
        for nodes_item_data in _nodes:
            nodes_item = NodeStatus.from_dict(nodes_item_data)

            nodes.append(nodes_item)

        return nodes

    @property
    def active_nodes(self) -> int:
        """Nodes not offline."""

        if "active_nodes" not in self:
            raise missing_field(self, "active_nodes")
        return cast(int, self["active_nodes"])

    @property
    def queue_depth(self) -> int:
        """Prompts waiting for a node."""

        if "queue_depth" not in self:
            raise missing_field(self, "queue_depth")
        return cast(int, self["queue_depth"])

    @property
    def running(self) -> int:
        """Prompts a node is working on."""

        if "running" not in self:
            raise missing_field(self, "running")
        return cast(int, self["running"])

    @property
    def last_prompt_status(self) -> None | PromptState:
        """The state of the most recently submitted prompt."""

        if self.get("last_prompt_status") is None:
            return None

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

        last_prompt_status = _parse_last_prompt_status(self["last_prompt_status"])

        return last_prompt_status

    @property
    def last_prompt_id(self) -> None | str:

        if self.get("last_prompt_id") is None:
            return None

        def _parse_last_prompt_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_prompt_id = _parse_last_prompt_id(self["last_prompt_id"])

        return last_prompt_id
