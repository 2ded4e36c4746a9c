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

from ..types import UNSET, Unset

T = TypeVar("T", bound="GenerateRequest")


@_attrs_define(eq=False)
class GenerateRequest(Mapping[str, Any]):
    """
    Attributes:
        prompt (str): The text to continue. Longer than the model's context → truncated from the left.
        max_length (int | Unset): The most new tokens to generate. Default: 50.
        temperature (float | Unset): Sampling temperature; lower is more deterministic. Default: 1.0.
        top_k (int | Unset): Sample only among the k likeliest tokens. Absent → the whole vocabulary.
        seed (int | Unset): Makes sampling repeatable for the same model and request.
    """

    prompt: str
    max_length: int | Unset = 50
    temperature: float | Unset = 1.0
    top_k: int | Unset = UNSET
    seed: int | Unset = UNSET
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        max_length = self.max_length

        temperature = self.temperature

        top_k = self.top_k

        seed = self.seed

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if max_length is not UNSET:
            field_dict["max_length"] = max_length
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if top_k is not UNSET:
            field_dict["top_k"] = top_k
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        max_length = d.pop("max_length", UNSET)

        temperature = d.pop("temperature", UNSET)

        top_k = d.pop("top_k", UNSET)

        seed = d.pop("seed", UNSET)

        generate_request = cls(
            prompt=prompt,
            max_length=max_length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
        )

        return generate_request

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
