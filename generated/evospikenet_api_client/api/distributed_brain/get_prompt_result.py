from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.prompt_result import PromptResult
from ...types import UNSET, Response, Unset


def build_request(
    *,
    prompt_id: str | Unset = UNSET,
    wait: float | Unset = 0.0,
) -> dict[str, Any]:
    """``GET /api/distributed_brain/result`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""

    params: dict[str, Any] = {}

    params["prompt_id"] = prompt_id

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/distributed_brain/result",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | PromptResult | None:
    if response.status_code == 200:
        response_200 = PromptResult.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def parse_response(response: httpx.Response) -> PromptResult:
    """The contract's type for a successful (2xx) answer of this operation, decoded from its body.

    Raises ``errors.UnexpectedStatus`` for any other status, and ``KeyError``, ``TypeError`` or
    ``ValueError`` for a body that does not match the contract.
    """
    if response.status_code == 200:
        response_200 = PromptResult.from_dict(response.json())

        return response_200

    raise errors.UnexpectedStatus(response.status_code, response.content)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | PromptResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    prompt_id: str | Unset = UNSET,
    wait: float | Unset = 0.0,
) -> Response[Problem | PromptResult]:
    """Read a prompt's state and result, optionally waiting for it

     With `prompt_id`: that prompt's state and, once `completed`, its `response`. `wait`
    long-polls: the server answers as soon as the state is terminal (`completed` or
    `failed`) or when `wait` seconds have passed, whichever is first. Reading never deletes a
    result: every reader sees it until the retention period ends.

    Without `prompt_id` (the original's form): the most recent completed result, also without
    deleting it; when nothing has completed yet, every field is null. New code should always
    pass `prompt_id`.

    Args:
        prompt_id (str | Unset): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers
            may be UUIDs).
        wait (float | Unset):  Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | PromptResult]
    """

    kwargs = build_request(
        prompt_id=prompt_id,
        wait=wait,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    prompt_id: str | Unset = UNSET,
    wait: float | Unset = 0.0,
) -> Problem | PromptResult | None:
    """Read a prompt's state and result, optionally waiting for it

     With `prompt_id`: that prompt's state and, once `completed`, its `response`. `wait`
    long-polls: the server answers as soon as the state is terminal (`completed` or
    `failed`) or when `wait` seconds have passed, whichever is first. Reading never deletes a
    result: every reader sees it until the retention period ends.

    Without `prompt_id` (the original's form): the most recent completed result, also without
    deleting it; when nothing has completed yet, every field is null. New code should always
    pass `prompt_id`.

    Args:
        prompt_id (str | Unset): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers
            may be UUIDs).
        wait (float | Unset):  Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | PromptResult
    """

    return sync_detailed(
        client=client,
        prompt_id=prompt_id,
        wait=wait,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    prompt_id: str | Unset = UNSET,
    wait: float | Unset = 0.0,
) -> Response[Problem | PromptResult]:
    """Read a prompt's state and result, optionally waiting for it

     With `prompt_id`: that prompt's state and, once `completed`, its `response`. `wait`
    long-polls: the server answers as soon as the state is terminal (`completed` or
    `failed`) or when `wait` seconds have passed, whichever is first. Reading never deletes a
    result: every reader sees it until the retention period ends.

    Without `prompt_id` (the original's form): the most recent completed result, also without
    deleting it; when nothing has completed yet, every field is null. New code should always
    pass `prompt_id`.

    Args:
        prompt_id (str | Unset): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers
            may be UUIDs).
        wait (float | Unset):  Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | PromptResult]
    """

    kwargs = build_request(
        prompt_id=prompt_id,
        wait=wait,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    prompt_id: str | Unset = UNSET,
    wait: float | Unset = 0.0,
) -> Problem | PromptResult | None:
    """Read a prompt's state and result, optionally waiting for it

     With `prompt_id`: that prompt's state and, once `completed`, its `response`. `wait`
    long-polls: the server answers as soon as the state is terminal (`completed` or
    `failed`) or when `wait` seconds have passed, whichever is first. Reading never deletes a
    result: every reader sees it until the retention period ends.

    Without `prompt_id` (the original's form): the most recent completed result, also without
    deleting it; when nothing has completed yet, every field is null. New code should always
    pass `prompt_id`.

    Args:
        prompt_id (str | Unset): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers
            may be UUIDs).
        wait (float | Unset):  Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | PromptResult
    """

    return (
        await asyncio_detailed(
            client=client,
            prompt_id=prompt_id,
            wait=wait,
        )
    ).parsed
