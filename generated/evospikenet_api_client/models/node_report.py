from __future__ import annotations

from typing import Any, ClassVar, cast

from ..models.node_state import NodeState
from ..types import UNSET, JSONModel, Unset, missing_field, validate_field


class NodeReport(JSONModel):
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

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "node_id",
            "rank",
            "type",
            "status",
            "prompts_done",
            "spike_rate",
            "host",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "node_id",
        "rank",
        "type",
        "status",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        node_id: str,
        rank: int,
        type_: str,
        status: NodeState,
        prompts_done: int | Unset = UNSET,
        spike_rate: float | Unset = UNSET,
        host: str | Unset = UNSET,
    ) -> None:
        field_dict: dict[str, Any] = {}
        json_node_id = node_id
        field_dict["node_id"] = json_node_id
        json_rank = rank
        field_dict["rank"] = json_rank
        json_type_ = type_
        field_dict["type"] = json_type_
        json_status = status.value
        field_dict["status"] = json_status
        json_prompts_done = prompts_done
        if json_prompts_done is not UNSET:
            field_dict["prompts_done"] = json_prompts_done
        json_spike_rate = spike_rate
        if json_spike_rate is not UNSET:
            field_dict["spike_rate"] = json_spike_rate
        json_host = host
        if json_host is not UNSET:
            field_dict["host"] = json_host
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "node_id" in self:
            validate_field(self, "node_id", "node_id", str)
        if "rank" in self:
            validate_field(self, "rank", "rank", int)
        if "type" in self:
            validate_field(self, "type", "type_", str)
        if "status" in self:
            validate_field(self, "status", "status", NodeState)
        if "prompts_done" in self:
            validate_field(self, "prompts_done", "prompts_done", int)
        if "spike_rate" in self:
            validate_field(self, "spike_rate", "spike_rate", float | int)
        if "host" in self:
            validate_field(self, "host", "host", str)

    @property
    def node_id(self) -> str:
        """An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be UUIDs)."""

        if "node_id" not in self:
            raise missing_field(self, "node_id")
        return cast(str, self["node_id"])

    @property
    def rank(self) -> int:

        if "rank" not in self:
            raise missing_field(self, "rank")
        return cast(int, self["rank"])

    @property
    def type_(self) -> str:
        """The node's role, e.g. `coordinator`, `language`, `vision`, `auditory`, `motor`."""

        if "type" not in self:
            raise missing_field(self, "type_")
        return cast(str, self["type"])

    @property
    def status(self) -> NodeState:

        if "status" not in self:
            raise missing_field(self, "status")
        status = NodeState(self["status"])

        return status

    @property
    def prompts_done(self) -> int | Unset:

        return cast(int | Unset, self.get("prompts_done", UNSET))

    @property
    def spike_rate(self) -> float | Unset:

        return cast(float | Unset, self.get("spike_rate", UNSET))

    @property
    def host(self) -> str | Unset:

        return cast(str | Unset, self.get("host", UNSET))
