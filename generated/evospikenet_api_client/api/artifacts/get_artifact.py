from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.artifact import Artifact
from ...models.problem import Problem
from ...types import Response


def build_request(
    artifact_id: str,
) -> dict[str, Any]:
    """``GET /api/artifacts/{artifact_id}`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/artifacts/{artifact_id}".format(
            artifact_id=quote(str(artifact_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Artifact | Problem | None:
    if response.status_code == 200:
        response_200 = Artifact.from_dict(response.json())

        return response_200

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


def parse_response(response: httpx.Response) -> Artifact:
    """The contract's type for a successful (2xx) answer of this operation, decoded from its body.

    Raises ``errors.UnexpectedStatus`` for any other status, and ``KeyError``, ``TypeError`` or
    ``ValueError`` for a body that does not match the contract.
    """
    if response.status_code == 200:
        response_200 = Artifact.from_dict(response.json())

        return response_200

    raise errors.UnexpectedStatus(response.status_code, response.content)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Artifact | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Artifact | Problem]:
    """One artifact's metadata

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Artifact | Problem]
    """

    kwargs = build_request(
        artifact_id=artifact_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Artifact | Problem | None:
    """One artifact's metadata

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Artifact | Problem
    """

    return sync_detailed(
        artifact_id=artifact_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Artifact | Problem]:
    """One artifact's metadata

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Artifact | Problem]
    """

    kwargs = build_request(
        artifact_id=artifact_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Artifact | Problem | None:
    """One artifact's metadata

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Artifact | Problem
    """

    return (
        await asyncio_detailed(
            artifact_id=artifact_id,
            client=client,
        )
    ).parsed
