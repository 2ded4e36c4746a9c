from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field

if TYPE_CHECKING:
    from ..models.model_artifact_ids import ModelArtifactIds
    from ..models.served_model_config import ServedModelConfig


class ServedModel(JSONModel):
    """
    Attributes:
        llm_type (str):
        session_id (str): The model session the weights came from.
        artifact_ids (ModelArtifactIds):
        config (ServedModelConfig): The effective model config (unknown keys of the uploaded config dropped).
        bundled_default (bool): True for the small model that ships with the server.
        loaded_at (datetime.datetime):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "llm_type",
            "session_id",
            "artifact_ids",
            "config",
            "bundled_default",
            "loaded_at",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "llm_type",
        "session_id",
        "artifact_ids",
        "config",
        "bundled_default",
        "loaded_at",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        llm_type: str,
        session_id: str,
        artifact_ids: ModelArtifactIds,
        config: ServedModelConfig,
        bundled_default: bool,
        loaded_at: datetime.datetime,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_llm_type = llm_type
        field_dict["llm_type"] = json_llm_type
        json_session_id = session_id
        field_dict["session_id"] = json_session_id
        json_artifact_ids = artifact_ids.to_dict()
        field_dict["artifact_ids"] = json_artifact_ids
        json_config = config.to_dict()
        field_dict["config"] = json_config
        json_bundled_default = bundled_default
        field_dict["bundled_default"] = json_bundled_default
        json_loaded_at = loaded_at.isoformat()
        field_dict["loaded_at"] = json_loaded_at
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        from ..models.model_artifact_ids import ModelArtifactIds
        from ..models.served_model_config import ServedModelConfig

        if "llm_type" in self:
            validate_field(self, "llm_type", "llm_type", str)
        if "session_id" in self:
            validate_field(self, "session_id", "session_id", str)
        if "artifact_ids" in self:
            validate_field(self, "artifact_ids", "artifact_ids", ModelArtifactIds)
        if "config" in self:
            validate_field(self, "config", "config", ServedModelConfig)
        if "bundled_default" in self:
            validate_field(self, "bundled_default", "bundled_default", bool)
        if "loaded_at" in self:
            validate_field(self, "loaded_at", "loaded_at", datetime.datetime)

    @property
    def llm_type(self) -> str:

        if "llm_type" not in self:
            raise missing_field(self, "llm_type")
        return cast(str, self["llm_type"])

    @property
    def session_id(self) -> str:
        """The model session the weights came from."""

        if "session_id" not in self:
            raise missing_field(self, "session_id")
        return cast(str, self["session_id"])

    @property
    def artifact_ids(self) -> ModelArtifactIds:
        from ..models.model_artifact_ids import ModelArtifactIds

        if "artifact_ids" not in self:
            raise missing_field(self, "artifact_ids")
        artifact_ids = ModelArtifactIds.from_dict(self["artifact_ids"])

        return artifact_ids

    @property
    def config(self) -> ServedModelConfig:
        """The effective model config (unknown keys of the uploaded config dropped)."""
        from ..models.served_model_config import ServedModelConfig

        if "config" not in self:
            raise missing_field(self, "config")
        config = ServedModelConfig.from_dict(self["config"])

        return config

    @property
    def bundled_default(self) -> bool:
        """True for the small model that ships with the server."""

        if "bundled_default" not in self:
            raise missing_field(self, "bundled_default")
        return cast(bool, self["bundled_default"])

    @property
    def loaded_at(self) -> datetime.datetime:

        if "loaded_at" not in self:
            raise missing_field(self, "loaded_at")
        loaded_at = datetime.datetime.fromisoformat(self["loaded_at"])

        return loaded_at
