from http import HTTPStatus
from io import BytesIO
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, File, Response, Unset


def build_request(
    artifact_id: str,
    *,
    range_: str | Unset = UNSET,
    if_none_match: str | Unset = UNSET,
) -> dict[str, Any]:
    """``GET /api/artifacts/{artifact_id}/download`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""
    headers: dict[str, Any] = {}
    if not isinstance(range_, Unset):
        headers["Range"] = range_

    if not isinstance(if_none_match, Unset):
        headers["If-None-Match"] = if_none_match

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/artifacts/{artifact_id}/download".format(
            artifact_id=quote(str(artifact_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | File | Problem | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 206:
        response_206 = File(payload=BytesIO(response.content))

        return response_206

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

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

    if response.status_code == 416:
        response_416 = Problem.from_dict(response.json())

        return response_416

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


def parse_response(response: httpx.Response) -> File:
    """The contract's type for a successful (2xx) answer of this operation, decoded from its body.

    Raises ``errors.UnexpectedStatus`` for any other status, and ``KeyError``, ``TypeError`` or
    ``ValueError`` for a body that does not match the contract.
    """
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 206:
        response_206 = File(payload=BytesIO(response.content))

        return response_206

    raise errors.UnexpectedStatus(response.status_code, response.content)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | File | Problem]:
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
    range_: str | Unset = UNSET,
    if_none_match: str | Unset = UNSET,
) -> Response[Any | File | Problem]:
    """Download an artifact's bytes

     Streams the bytes. `ETag` is the quoted sha256 of the whole file; `If-None-Match` with it
    answers 304. `Range: bytes=START-END` (one range) answers 206 with `Content-Range`; an
    unsatisfiable range answers 416 `RANGE_001`.

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).
        range_ (str | Unset):
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | File | Problem]
    """

    kwargs = build_request(
        artifact_id=artifact_id,
        range_=range_,
        if_none_match=if_none_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
    if_none_match: str | Unset = UNSET,
) -> Any | File | Problem | None:
    """Download an artifact's bytes

     Streams the bytes. `ETag` is the quoted sha256 of the whole file; `If-None-Match` with it
    answers 304. `Range: bytes=START-END` (one range) answers 206 with `Content-Range`; an
    unsatisfiable range answers 416 `RANGE_001`.

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).
        range_ (str | Unset):
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | File | Problem
    """

    return sync_detailed(
        artifact_id=artifact_id,
        client=client,
        range_=range_,
        if_none_match=if_none_match,
    ).parsed


async def asyncio_detailed(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
    if_none_match: str | Unset = UNSET,
) -> Response[Any | File | Problem]:
    """Download an artifact's bytes

     Streams the bytes. `ETag` is the quoted sha256 of the whole file; `If-None-Match` with it
    answers 304. `Range: bytes=START-END` (one range) answers 206 with `Content-Range`; an
    unsatisfiable range answers 416 `RANGE_001`.

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).
        range_ (str | Unset):
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | File | Problem]
    """

    kwargs = build_request(
        artifact_id=artifact_id,
        range_=range_,
        if_none_match=if_none_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    artifact_id: str,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
    if_none_match: str | Unset = UNSET,
) -> Any | File | Problem | None:
    """Download an artifact's bytes

     Streams the bytes. `ETag` is the quoted sha256 of the whole file; `If-None-Match` with it
    answers 304. `Range: bytes=START-END` (one range) answers 206 with `Content-Range`; an
    unsatisfiable range answers 416 `RANGE_001`.

    Args:
        artifact_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be
            UUIDs).
        range_ (str | Unset):
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | File | Problem
    """

    return (
        await asyncio_detailed(
            artifact_id=artifact_id,
            client=client,
            range_=range_,
            if_none_match=if_none_match,
        )
    ).parsed
