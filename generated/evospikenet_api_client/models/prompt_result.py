from __future__ import annotations

import datetime
from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.prompt_state import PromptState

T = TypeVar("T", bound="PromptResult")


@_attrs_define(eq=False)
class PromptResult(Mapping[str, Any]):
    """
    Attributes:
        prompt_id (None | str): Null only in the no-`prompt_id` form when nothing has completed yet.
        state (None | PromptState): Null only in the no-`prompt_id` form when nothing has completed yet.
        response (None | str): The simulation's answer once `completed`.
        timestamp (datetime.datetime | None): When the prompt reached a terminal state.
        error (None | str): Why the prompt failed, once `failed`.
        created_at (datetime.datetime | None):
        started_at (datetime.datetime | None):
        attempts (int): How many times a node took the prompt (retries after a node died count).
    """

    prompt_id: None | str
    state: None | PromptState
    response: None | str
    timestamp: datetime.datetime | None
    error: None | str
    created_at: datetime.datetime | None
    started_at: datetime.datetime | None
    attempts: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        prompt_id: None | str
        prompt_id = self.prompt_id

        state: None | str
        if isinstance(self.state, PromptState):
            state = self.state.value
        else:
            state = self.state

        response: None | str
        response = self.response

        timestamp: None | str
        if isinstance(self.timestamp, datetime.datetime):
            timestamp = self.timestamp.isoformat()
        else:
            timestamp = self.timestamp

        error: None | str
        error = self.error

        created_at: None | str
        if isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        attempts = self.attempts

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt_id": prompt_id,
                "state": state,
                "response": response,
                "timestamp": timestamp,
                "error": error,
                "created_at": created_at,
                "started_at": started_at,
                "attempts": attempts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_prompt_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        prompt_id = _parse_prompt_id(d.pop("prompt_id"))

        def _parse_state(data: object) -> None | PromptState:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_type_0 = PromptState(data)

                return state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PromptState, data)

        state = _parse_state(d.pop("state"))

        def _parse_response(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        response = _parse_response(d.pop("response"))

        def _parse_timestamp(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        timestamp = _parse_timestamp(d.pop("timestamp"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_created_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = datetime.datetime.fromisoformat(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        created_at = _parse_created_at(d.pop("created_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        attempts = d.pop("attempts")

        prompt_result = cls(
            prompt_id=prompt_id,
            state=state,
            response=response,
            timestamp=timestamp,
            error=error,
            created_at=created_at,
            started_at=started_at,
            attempts=attempts,
        )

        prompt_result.additional_properties = d
        return prompt_result

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
