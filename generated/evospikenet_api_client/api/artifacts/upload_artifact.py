from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.artifact import Artifact
from ...models.artifact_upload import ArtifactUpload
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def build_request(
    *,
    body: ArtifactUpload,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    """``POST /api/artifacts`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/artifacts",
    }

    _kwargs["files"] = body.to_multipart()

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Artifact | Problem | None:
    if response.status_code == 201:
        response_201 = Artifact.from_dict(response.json())

        return response_201

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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
    if response.status_code == 201:
        response_201 = Artifact.from_dict(response.json())

        return response_201

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
    *,
    client: AuthenticatedClient | Client,
    body: ArtifactUpload,
    idempotency_key: str | Unset = UNSET,
) -> Response[Artifact | Problem]:
    """Upload a file into a session

     Streams the file to storage while hashing it. The artifact becomes visible only when the
    whole body arrived and, when `sha256` was sent, the digest matched (else 422 `ART_002`
    and nothing is stored). The parts may come in any order: `sha256` may precede the `file`
    part or follow it (a client that hashes while it sends puts it after the file, in one
    pass); either way the server checks it at the end of the body, before it stores
    anything. Identical bytes are stored once. `name` is metadata only and never
    becomes a path. Bodies over `limits.max_upload_bytes` are refused with 413 `ART_003`,
    before reading when `Content-Length` already exceeds the limit.

    Args:
        idempotency_key (str | Unset):
        body (ArtifactUpload): The form's fields; any other field is refused with 422 naming it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Artifact | Problem]
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
    body: ArtifactUpload,
    idempotency_key: str | Unset = UNSET,
) -> Artifact | Problem | None:
    """Upload a file into a session

     Streams the file to storage while hashing it. The artifact becomes visible only when the
    whole body arrived and, when `sha256` was sent, the digest matched (else 422 `ART_002`
    and nothing is stored). The parts may come in any order: `sha256` may precede the `file`
    part or follow it (a client that hashes while it sends puts it after the file, in one
    pass); either way the server checks it at the end of the body, before it stores
    anything. Identical bytes are stored once. `name` is metadata only and never
    becomes a path. Bodies over `limits.max_upload_bytes` are refused with 413 `ART_003`,
    before reading when `Content-Length` already exceeds the limit.

    Args:
        idempotency_key (str | Unset):
        body (ArtifactUpload): The form's fields; any other field is refused with 422 naming it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Artifact | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ArtifactUpload,
    idempotency_key: str | Unset = UNSET,
) -> Response[Artifact | Problem]:
    """Upload a file into a session

     Streams the file to storage while hashing it. The artifact becomes visible only when the
    whole body arrived and, when `sha256` was sent, the digest matched (else 422 `ART_002`
    and nothing is stored). The parts may come in any order: `sha256` may precede the `file`
    part or follow it (a client that hashes while it sends puts it after the file, in one
    pass); either way the server checks it at the end of the body, before it stores
    anything. Identical bytes are stored once. `name` is metadata only and never
    becomes a path. Bodies over `limits.max_upload_bytes` are refused with 413 `ART_003`,
    before reading when `Content-Length` already exceeds the limit.

    Args:
        idempotency_key (str | Unset):
        body (ArtifactUpload): The form's fields; any other field is refused with 422 naming it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Artifact | Problem]
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
    body: ArtifactUpload,
    idempotency_key: str | Unset = UNSET,
) -> Artifact | Problem | None:
    """Upload a file into a session

     Streams the file to storage while hashing it. The artifact becomes visible only when the
    whole body arrived and, when `sha256` was sent, the digest matched (else 422 `ART_002`
    and nothing is stored). The parts may come in any order: `sha256` may precede the `file`
    part or follow it (a client that hashes while it sends puts it after the file, in one
    pass); either way the server checks it at the end of the body, before it stores
    anything. Identical bytes are stored once. `name` is metadata only and never
    becomes a path. Bodies over `limits.max_upload_bytes` are refused with 413 `ART_003`,
    before reading when `Content-Length` already exceeds the limit.

    Args:
        idempotency_key (str | Unset):
        body (ArtifactUpload): The form's fields; any other field is refused with 422 naming it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Artifact | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
