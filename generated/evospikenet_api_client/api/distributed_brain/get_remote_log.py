from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.remote_log import RemoteLog
from ...models.remote_log_request import RemoteLogRequest
from ...types import UNSET, Response, Unset


def build_request(
    *,
    body: RemoteLogRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    """``POST /api/distributed_brain/remote_log`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/distributed_brain/remote_log",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RemoteLog | None:
    if response.status_code == 200:
        response_200 = RemoteLog.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 502:
        response_502 = Problem.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def parse_response(response: httpx.Response) -> RemoteLog:
    """The contract's type for a successful (2xx) answer of this operation, decoded from its body.

    Raises ``errors.UnexpectedStatus`` for any other status, and ``KeyError``, ``TypeError`` or
    ``ValueError`` for a body that does not match the contract.
    """
    if response.status_code == 200:
        response_200 = RemoteLog.from_dict(response.json())

        return response_200

    raise errors.UnexpectedStatus(response.status_code, response.content)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | RemoteLog]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RemoteLogRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | RemoteLog]:
    """Read the last lines of a node's log over SSH

     The server connects over SSH, with host-key checking, only to hosts the operator
    configured in its nodes file, as the configured user, with the configured key, and reads
    only files inside the directories configured for that host. `key_path` is accepted for
    compatibility with the original but is only resolved among the configured keys. Anything
    not configured is refused with 403 `SSH_001`; an SSH failure is 502 `SSH_002`.

    Args:
        idempotency_key (str | Unset):
        body (RemoteLogRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RemoteLog]
    """

    kwargs = build_request(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: RemoteLogRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | RemoteLog | None:
    """Read the last lines of a node's log over SSH

     The server connects over SSH, with host-key checking, only to hosts the operator
    configured in its nodes file, as the configured user, with the configured key, and reads
    only files inside the directories configured for that host. `key_path` is accepted for
    compatibility with the original but is only resolved among the configured keys. Anything
    not configured is refused with 403 `SSH_001`; an SSH failure is 502 `SSH_002`.

    Args:
        idempotency_key (str | Unset):
        body (RemoteLogRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RemoteLog
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RemoteLogRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | RemoteLog]:
    """Read the last lines of a node's log over SSH

     The server connects over SSH, with host-key checking, only to hosts the operator
    configured in its nodes file, as the configured user, with the configured key, and reads
    only files inside the directories configured for that host. `key_path` is accepted for
    compatibility with the original but is only resolved among the configured keys. Anything
    not configured is refused with 403 `SSH_001`; an SSH failure is 502 `SSH_002`.

    Args:
        idempotency_key (str | Unset):
        body (RemoteLogRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RemoteLog]
    """

    kwargs = build_request(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RemoteLogRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | RemoteLog | None:
    """Read the last lines of a node's log over SSH

     The server connects over SSH, with host-key checking, only to hosts the operator
    configured in its nodes file, as the configured user, with the configured key, and reads
    only files inside the directories configured for that host. `key_path` is accepted for
    compatibility with the original but is only resolved among the configured keys. Anything
    not configured is refused with 403 `SSH_001`; an SSH failure is 502 `SSH_002`.

    Args:
        idempotency_key (str | Unset):
        body (RemoteLogRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RemoteLog
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
