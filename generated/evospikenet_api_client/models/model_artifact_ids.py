from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class ModelArtifactIds(JSONModel):
    """
    Attributes:
        model (str):
        config (str):
        tokenizer (str):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "model",
            "config",
            "tokenizer",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "model",
        "config",
        "tokenizer",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        model: str,
        config: str,
        tokenizer: str,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_model = model
        field_dict["model"] = json_model
        json_config = config
        field_dict["config"] = json_config
        json_tokenizer = tokenizer
        field_dict["tokenizer"] = json_tokenizer
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "model" in self:
            validate_field(self, "model", "model", str)
        if "config" in self:
            validate_field(self, "config", "config", str)
        if "tokenizer" in self:
            validate_field(self, "tokenizer", "tokenizer", str)

    @property
    def model(self) -> str:

        if "model" not in self:
            raise missing_field(self, "model")
        return cast(str, self["model"])

    @property
    def config(self) -> str:

        if "config" not in self:
            raise missing_field(self, "config")
        return cast(str, self["config"])

    @property
    def tokenizer(self) -> str:

        if "tokenizer" not in self:
            raise missing_field(self, "tokenizer")
        return cast(str, self["tokenizer"])
