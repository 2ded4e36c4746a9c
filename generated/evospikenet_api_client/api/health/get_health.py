from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.health import Health
from ...models.problem import Problem
from ...types import Response


def build_request() -> dict[str, Any]:
    """``GET /api/health`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/health",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Health | Problem | None:
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

        return response_200

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


def parse_response(response: httpx.Response) -> Health:
    """The contract's type for a successful (2xx) answer of this operation, decoded from its body.

    Raises ``errors.UnexpectedStatus`` for any other status, and ``KeyError``, ``TypeError`` or
    ``ValueError`` for a body that does not match the contract.
    """
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

        return response_200

    raise errors.UnexpectedStatus(response.status_code, response.content)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Health | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Health | Problem]:
    """Overall status and the state of each component

     Always 200 while the process answers; the body says how well it works. `unhealthy` when
    the database or the blob store fails; `degraded` when no model is loaded or no simulation
    node is online; `healthy` otherwise. Needs no API key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Health | Problem]
    """

    kwargs = build_request()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Health | Problem | None:
    """Overall status and the state of each component

     Always 200 while the process answers; the body says how well it works. `unhealthy` when
    the database or the blob store fails; `degraded` when no model is loaded or no simulation
    node is online; `healthy` otherwise. Needs no API key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Health | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Health | Problem]:
    """Overall status and the state of each component

     Always 200 while the process answers; the body says how well it works. `unhealthy` when
    the database or the blob store fails; `degraded` when no model is loaded or no simulation
    node is online; `healthy` otherwise. Needs no API key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Health | Problem]
    """

    kwargs = build_request()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Health | Problem | None:
    """Overall status and the state of each component

     Always 200 while the process answers; the body says how well it works. `unhealthy` when
    the database or the blob store fails; `degraded` when no model is loaded or no simulation
    node is online; `healthy` otherwise. Needs no API key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Health | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
