from enum import StrEnum


class NodeState(StrEnum):
    BUSY = "busy"
    IDLE = "idle"
    OFFLINE = "offline"
    STARTING = "starting"

    def __str__(self) -> str:
        return str(self.value)
