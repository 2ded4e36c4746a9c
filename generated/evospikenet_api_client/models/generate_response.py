from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GenerateResponse")


@_attrs_define(eq=False)
class GenerateResponse(Mapping[str, Any]):
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

    generated_text: str
    prompt: str
    llm_type: str
    model_session_id: str
    prompt_tokens: int
    generated_tokens: int
    prompt_truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        generated_text = self.generated_text

        prompt = self.prompt

        llm_type = self.llm_type

        model_session_id = self.model_session_id

        prompt_tokens = self.prompt_tokens

        generated_tokens = self.generated_tokens

        prompt_truncated = self.prompt_truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "generated_text": generated_text,
                "prompt": prompt,
                "llm_type": llm_type,
                "model_session_id": model_session_id,
                "prompt_tokens": prompt_tokens,
                "generated_tokens": generated_tokens,
                "prompt_truncated": prompt_truncated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        generated_text = d.pop("generated_text")

        prompt = d.pop("prompt")

        llm_type = d.pop("llm_type")

        model_session_id = d.pop("model_session_id")

        prompt_tokens = d.pop("prompt_tokens")

        generated_tokens = d.pop("generated_tokens")

        prompt_truncated = d.pop("prompt_truncated")

        generate_response = cls(
            generated_text=generated_text,
            prompt=prompt,
            llm_type=llm_type,
            model_session_id=model_session_id,
            prompt_tokens=prompt_tokens,
            generated_tokens=generated_tokens,
            prompt_truncated=prompt_truncated,
        )

        generate_response.additional_properties = d
        return generate_response

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
