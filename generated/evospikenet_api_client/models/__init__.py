"""Contains all the data models used in inputs/outputs"""

from .artifact import Artifact
from .artifact_upload import ArtifactUpload
from .component_health import ComponentHealth
from .field_error import FieldError
from .generate_chunk import GenerateChunk
from .generate_request import GenerateRequest
from .generate_response import GenerateResponse
from .health import Health
from .health_components import HealthComponents
from .health_state import HealthState
from .limits import Limits
from .model_artifact_ids import ModelArtifactIds
from .node_report import NodeReport
from .node_state import NodeState
from .node_status import NodeStatus
from .problem import Problem
from .prompt_accepted import PromptAccepted
from .prompt_request import PromptRequest
from .prompt_result import PromptResult
from .prompt_state import PromptState
from .remote_log import RemoteLog
from .remote_log_request import RemoteLogRequest
from .served_model import ServedModel
from .served_model_config import ServedModelConfig
from .server_info import ServerInfo
from .session import Session
from .session_create import SessionCreate
from .simulation_status import SimulationStatus

__all__ = (
    "Artifact",
    "ArtifactUpload",
    "ComponentHealth",
    "FieldError",
    "GenerateChunk",
    "GenerateRequest",
    "GenerateResponse",
    "Health",
    "HealthComponents",
    "HealthState",
    "Limits",
    "ModelArtifactIds",
    "NodeReport",
    "NodeState",
    "NodeStatus",
    "Problem",
    "PromptAccepted",
    "PromptRequest",
    "PromptResult",
    "PromptState",
    "RemoteLog",
    "RemoteLogRequest",
    "ServedModel",
    "ServedModelConfig",
    "ServerInfo",
    "Session",
    "SessionCreate",
    "SimulationStatus",
)
