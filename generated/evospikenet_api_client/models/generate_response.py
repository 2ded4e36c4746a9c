from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field


class GenerateResponse(JSONModel):
    """
    Attributes:
        generated_text (str): The new text only (the prompt is not repeated).
        prompt (str): The prompt as sent.
        llm_type (str): The architecture that generated it.
        model_session_id (str): The model session that was used.
        prompt_tokens (int): Prompt tokens the model saw (after truncation).
        generated_tokens (int): New tokens generated.
        prompt_truncated (bool): True when the prompt was cut from the left to fit the context.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "generated_text",
            "prompt",
            "llm_type",
            "model_session_id",
            "prompt_tokens",
            "generated_tokens",
            "prompt_truncated",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "generated_text",
        "prompt",
        "llm_type",
        "model_session_id",
        "prompt_tokens",
        "generated_tokens",
        "prompt_truncated",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ("generated_text",)
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        generated_text: str,
        prompt: str,
        llm_type: str,
        model_session_id: str,
        prompt_tokens: int,
        generated_tokens: int,
        prompt_truncated: bool,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_generated_text = generated_text
        field_dict["generated_text"] = json_generated_text
        json_prompt = prompt
        field_dict["prompt"] = json_prompt
        json_llm_type = llm_type
        field_dict["llm_type"] = json_llm_type
        json_model_session_id = model_session_id
        field_dict["model_session_id"] = json_model_session_id
        json_prompt_tokens = prompt_tokens
        field_dict["prompt_tokens"] = json_prompt_tokens
        json_generated_tokens = generated_tokens
        field_dict["generated_tokens"] = json_generated_tokens
        json_prompt_truncated = prompt_truncated
        field_dict["prompt_truncated"] = json_prompt_truncated
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "generated_text" in self:
            validate_field(self, "generated_text", "generated_text", str)
        if "prompt" in self:
            validate_field(self, "prompt", "prompt", str)
        if "llm_type" in self:
            validate_field(self, "llm_type", "llm_type", str)
        if "model_session_id" in self:
            validate_field(self, "model_session_id", "model_session_id", str)
        if "prompt_tokens" in self:
            validate_field(self, "prompt_tokens", "prompt_tokens", int)
        if "generated_tokens" in self:
            validate_field(self, "generated_tokens", "generated_tokens", int)
        if "prompt_truncated" in self:
            validate_field(self, "prompt_truncated", "prompt_truncated", bool)

    ok: ClassVar[bool] = True
    """True: a generation (a failed ``batch_generate`` entry, ``FailedGeneration``, has False)."""

    @property
    def generated_text(self) -> str:
        """The new text only (the prompt is not repeated)."""

        if "generated_text" not in self:
            raise missing_field(self, "generated_text")
        return cast(str, self["generated_text"])

    @property
    def prompt(self) -> str:
        """The prompt as sent."""

        if "prompt" not in self:
            raise missing_field(self, "prompt")
        return cast(str, self["prompt"])

    @property
    def llm_type(self) -> str:
        """The architecture that generated it."""

        if "llm_type" not in self:
            raise missing_field(self, "llm_type")
        return cast(str, self["llm_type"])

    @property
    def model_session_id(self) -> str:
        """The model session that was used."""

        if "model_session_id" not in self:
            raise missing_field(self, "model_session_id")
        return cast(str, self["model_session_id"])

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens the model saw (after truncation)."""

        if "prompt_tokens" not in self:
            raise missing_field(self, "prompt_tokens")
        return cast(int, self["prompt_tokens"])

    @property
    def generated_tokens(self) -> int:
        """New tokens generated."""

        if "generated_tokens" not in self:
            raise missing_field(self, "generated_tokens")
        return cast(int, self["generated_tokens"])

    @property
    def prompt_truncated(self) -> bool:
        """True when the prompt was cut from the left to fit the context."""

        if "prompt_truncated" not in self:
            raise missing_field(self, "prompt_truncated")
        return cast(bool, self["prompt_truncated"])
