from __future__ import annotations

import datetime
from typing import Any, ClassVar, cast

from ..models.node_state import NodeState
from ..types import JSONModel, missing_field, validate_field


class NodeStatus(JSONModel):
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

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "id",
            "rank",
            "type",
            "status",
            "last_heartbeat",
            "prompts_done",
            "spike_rate",
            "host",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "id",
        "rank",
        "type",
        "status",
        "last_heartbeat",
        "prompts_done",
        "spike_rate",
        "host",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        id: str,
        rank: int,
        type_: str,
        status: NodeState,
        last_heartbeat: datetime.datetime | None,
        prompts_done: int,
        spike_rate: float | None,
        host: None | str,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_id = id
        field_dict["id"] = json_id
        json_rank = rank
        field_dict["rank"] = json_rank
        json_type_ = type_
        field_dict["type"] = json_type_
        json_status = status.value
        field_dict["status"] = json_status
        json_last_heartbeat: None | str
        if isinstance(last_heartbeat, datetime.datetime):
            json_last_heartbeat = last_heartbeat.isoformat()
        else:
            json_last_heartbeat = last_heartbeat
        field_dict["last_heartbeat"] = json_last_heartbeat
        json_prompts_done = prompts_done
        field_dict["prompts_done"] = json_prompts_done
        json_spike_rate: float | None
        json_spike_rate = spike_rate
        field_dict["spike_rate"] = json_spike_rate
        json_host: None | str
        json_host = host
        field_dict["host"] = json_host
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "id" in self:
            validate_field(self, "id", "id", str)
        if "rank" in self:
            validate_field(self, "rank", "rank", int)
        if "type" in self:
            validate_field(self, "type", "type_", str)
        if "status" in self:
            validate_field(self, "status", "status", NodeState)
        if "last_heartbeat" in self:
            validate_field(
                self, "last_heartbeat", "last_heartbeat", datetime.datetime | None
            )
        if "prompts_done" in self:
            validate_field(self, "prompts_done", "prompts_done", int)
        if "spike_rate" in self:
            validate_field(self, "spike_rate", "spike_rate", float | None | int)
        if "host" in self:
            validate_field(self, "host", "host", None | str)

    @property
    def id(self) -> str:

        if "id" not in self:
            raise missing_field(self, "id")
        return cast(str, self["id"])

    @property
    def rank(self) -> int:

        if "rank" not in self:
            raise missing_field(self, "rank")
        return cast(int, self["rank"])

    @property
    def type_(self) -> str:

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
    def last_heartbeat(self) -> datetime.datetime | None:

        if self.get("last_heartbeat") is None:
            return None

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

        last_heartbeat = _parse_last_heartbeat(self["last_heartbeat"])

        return last_heartbeat

    @property
    def prompts_done(self) -> int:

        if "prompts_done" not in self:
            raise missing_field(self, "prompts_done")
        return cast(int, self["prompts_done"])

    @property
    def spike_rate(self) -> float | None:
        """Fraction of neurons spiking per time step in the node's last work."""

        if self.get("spike_rate") is None:
            return None

        def _parse_spike_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        spike_rate = _parse_spike_rate(self["spike_rate"])

        return spike_rate

    @property
    def host(self) -> None | str:

        if self.get("host") is None:
            return None

        def _parse_host(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        host = _parse_host(self["host"])

        return host
