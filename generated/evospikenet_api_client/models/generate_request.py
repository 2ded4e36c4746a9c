from __future__ import annotations

from typing import Any, ClassVar, cast

from ..types import UNSET, JSONModel, Unset, missing_field, validate_field


class GenerateRequest(JSONModel):
    """
    Attributes:
        prompt (str): The text to continue. Longer than the model's context → truncated from the left.
        max_length (int | Unset): The most new tokens to generate. Default: 50.
        temperature (float | Unset): Sampling temperature; lower is more deterministic. Default: 1.0.
        top_k (int | Unset): Sample only among the k likeliest tokens. Absent → the whole vocabulary.
        repetition_penalty (float | Unset): Makes the tokens this answer has already generated less likely: their
            positive
            scores are divided by it, their negative ones multiplied (as Hugging Face's
            `repetition_penalty`, counted over the new tokens only, not the prompt). 1 → none.
            Absent → the served model's default: its config.json's
            `"generation": {"repetition_penalty": …}`, else 1.
        seed (int | Unset): Makes sampling repeatable for the same model and request.
        stream (bool | Unset): True → the answer is `text/event-stream`: `chunk` events as text is decoded, then
            `done` (or `error`). See `generateText`.
             Default: False.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "prompt",
            "max_length",
            "temperature",
            "top_k",
            "repetition_penalty",
            "seed",
            "stream",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = ("prompt",)
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        prompt: str,
        max_length: int | Unset = 50,
        temperature: float | Unset = 1.0,
        top_k: int | Unset = UNSET,
        repetition_penalty: float | Unset = UNSET,
        seed: int | Unset = UNSET,
        stream: bool | Unset = False,
    ) -> None:
        field_dict: dict[str, Any] = {}
        json_prompt = prompt
        field_dict["prompt"] = json_prompt
        json_max_length = max_length
        if json_max_length is not UNSET:
            field_dict["max_length"] = json_max_length
        json_temperature = temperature
        if json_temperature is not UNSET:
            field_dict["temperature"] = json_temperature
        json_top_k = top_k
        if json_top_k is not UNSET:
            field_dict["top_k"] = json_top_k
        json_repetition_penalty = repetition_penalty
        if json_repetition_penalty is not UNSET:
            field_dict["repetition_penalty"] = json_repetition_penalty
        json_seed = seed
        if json_seed is not UNSET:
            field_dict["seed"] = json_seed
        json_stream = stream
        if json_stream is not UNSET:
            field_dict["stream"] = json_stream
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "prompt" in self:
            validate_field(self, "prompt", "prompt", str)
        if "max_length" in self:
            validate_field(self, "max_length", "max_length", int)
        if "temperature" in self:
            validate_field(self, "temperature", "temperature", float | int)
        if "top_k" in self:
            validate_field(self, "top_k", "top_k", int)
        if "repetition_penalty" in self:
            validate_field(
                self, "repetition_penalty", "repetition_penalty", float | int
            )
        if "seed" in self:
            validate_field(self, "seed", "seed", int)
        if "stream" in self:
            validate_field(self, "stream", "stream", bool)

    @property
    def prompt(self) -> str:
        """The text to continue. Longer than the model's context → truncated from the left."""

        if "prompt" not in self:
            raise missing_field(self, "prompt")
        return cast(str, self["prompt"])

    @property
    def max_length(self) -> int | Unset:
        """The most new tokens to generate."""

        return cast(int | Unset, self.get("max_length", UNSET))

    @property
    def temperature(self) -> float | Unset:
        """Sampling temperature; lower is more deterministic."""

        return cast(float | Unset, self.get("temperature", UNSET))

    @property
    def top_k(self) -> int | Unset:
        """Sample only among the k likeliest tokens. Absent → the whole vocabulary."""

        return cast(int | Unset, self.get("top_k", UNSET))

    @property
    def repetition_penalty(self) -> float | Unset:
        """Makes the tokens this answer has already generated less likely: their positive
        scores are divided by it, their negative ones multiplied (as Hugging Face's
        `repetition_penalty`, counted over the new tokens only, not the prompt). 1 → none.
        Absent → the served model's default: its config.json's
        `"generation": {"repetition_penalty": …}`, else 1."""

        return cast(float | Unset, self.get("repetition_penalty", UNSET))

    @property
    def seed(self) -> int | Unset:
        """Makes sampling repeatable for the same model and request."""

        return cast(int | Unset, self.get("seed", UNSET))

    @property
    def stream(self) -> bool | Unset:
        """True → the answer is `text/event-stream`: `chunk` events as text is decoded, then
        `done` (or `error`). See `generateText`."""

        return cast(bool | Unset, self.get("stream", UNSET))
