from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.generate_request import GenerateRequest
from ...models.generate_response import GenerateResponse
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def build_request(
    *,
    body: GenerateRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    """``POST /api/generate`` as keyword arguments of ``httpx.Client.request``:
    ``method``, ``url`` (relative to the base URL) and, as the operation needs them, ``params``,
    ``headers`` and the body."""
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/generate",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GenerateResponse | Problem | None:
    if response.status_code == 200:
        response_200 = GenerateResponse.from_dict(response.json())

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

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def parse_response(response: httpx.Response) -> GenerateResponse:
    """The contract's type for a successful (2xx) answer of this operation, decoded from its body.

    Raises ``errors.UnexpectedStatus`` for any other status, and ``KeyError``, ``TypeError`` or
    ``ValueError`` for a body that does not match the contract.
    """
    if response.status_code == 200:
        response_200 = GenerateResponse.from_dict(response.json())

        return response_200

    raise errors.UnexpectedStatus(response.status_code, response.content)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[GenerateResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: GenerateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[GenerateResponse | Problem]:
    """Generate text from a prompt with the served spiking language model

     Runs the newest complete `SpikingEvoTextLM` model session (model weights, config and
    tokenizer artifacts). `max_length` bounds the number of new tokens. A prompt longer than
    the model's context is truncated from the left (`prompt_truncated` says so), not
    rejected. 503 `MODEL_002` while no model is loaded.

    **Streaming.** With `"stream": true` the answer is `text/event-stream` (server-sent
    events) instead of one JSON object, and text arrives as it is decoded. Each event has an
    `event:` name and one `data:` line holding a JSON object:

    * `chunk`: `GenerateChunk`, the next piece of new text (always whole characters; the
      chunks joined are `generated_text`). One or more per generation, in order.
    * `done`: `GenerateResponse`, the same fields as the non-streamed answer (counts,
      `model_session_id`, the whole `generated_text`). The last event of a success.
    * `error`: `Problem` (`type`, `title`, `status`, `detail`, `code`, ...), when generation
      fails after the stream began (`MODEL_001`, `SYS_001`). The last event of a failure.

    The stream ends after `done` or `error`; a stream that ends without either was cut off.
    Everything refused before the stream begins (validation, authentication, no model,
    rate limits) is an ordinary problem+json answer with its 4xx/5xx status. A client that
    disconnects stops its generation.

    Args:
        idempotency_key (str | Unset):
        body (GenerateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GenerateResponse | Problem]
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
    body: GenerateRequest,
    idempotency_key: str | Unset = UNSET,
) -> GenerateResponse | Problem | None:
    """Generate text from a prompt with the served spiking language model

     Runs the newest complete `SpikingEvoTextLM` model session (model weights, config and
    tokenizer artifacts). `max_length` bounds the number of new tokens. A prompt longer than
    the model's context is truncated from the left (`prompt_truncated` says so), not
    rejected. 503 `MODEL_002` while no model is loaded.

    **Streaming.** With `"stream": true` the answer is `text/event-stream` (server-sent
    events) instead of one JSON object, and text arrives as it is decoded. Each event has an
    `event:` name and one `data:` line holding a JSON object:

    * `chunk`: `GenerateChunk`, the next piece of new text (always whole characters; the
      chunks joined are `generated_text`). One or more per generation, in order.
    * `done`: `GenerateResponse`, the same fields as the non-streamed answer (counts,
      `model_session_id`, the whole `generated_text`). The last event of a success.
    * `error`: `Problem` (`type`, `title`, `status`, `detail`, `code`, ...), when generation
      fails after the stream began (`MODEL_001`, `SYS_001`). The last event of a failure.

    The stream ends after `done` or `error`; a stream that ends without either was cut off.
    Everything refused before the stream begins (validation, authentication, no model,
    rate limits) is an ordinary problem+json answer with its 4xx/5xx status. A client that
    disconnects stops its generation.

    Args:
        idempotency_key (str | Unset):
        body (GenerateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GenerateResponse | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: GenerateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[GenerateResponse | Problem]:
    """Generate text from a prompt with the served spiking language model

     Runs the newest complete `SpikingEvoTextLM` model session (model weights, config and
    tokenizer artifacts). `max_length` bounds the number of new tokens. A prompt longer than
    the model's context is truncated from the left (`prompt_truncated` says so), not
    rejected. 503 `MODEL_002` while no model is loaded.

    **Streaming.** With `"stream": true` the answer is `text/event-stream` (server-sent
    events) instead of one JSON object, and text arrives as it is decoded. Each event has an
    `event:` name and one `data:` line holding a JSON object:

    * `chunk`: `GenerateChunk`, the next piece of new text (always whole characters; the
      chunks joined are `generated_text`). One or more per generation, in order.
    * `done`: `GenerateResponse`, the same fields as the non-streamed answer (counts,
      `model_session_id`, the whole `generated_text`). The last event of a success.
    * `error`: `Problem` (`type`, `title`, `status`, `detail`, `code`, ...), when generation
      fails after the stream began (`MODEL_001`, `SYS_001`). The last event of a failure.

    The stream ends after `done` or `error`; a stream that ends without either was cut off.
    Everything refused before the stream begins (validation, authentication, no model,
    rate limits) is an ordinary problem+json answer with its 4xx/5xx status. A client that
    disconnects stops its generation.

    Args:
        idempotency_key (str | Unset):
        body (GenerateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GenerateResponse | Problem]
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
    body: GenerateRequest,
    idempotency_key: str | Unset = UNSET,
) -> GenerateResponse | Problem | None:
    """Generate text from a prompt with the served spiking language model

     Runs the newest complete `SpikingEvoTextLM` model session (model weights, config and
    tokenizer artifacts). `max_length` bounds the number of new tokens. A prompt longer than
    the model's context is truncated from the left (`prompt_truncated` says so), not
    rejected. 503 `MODEL_002` while no model is loaded.

    **Streaming.** With `"stream": true` the answer is `text/event-stream` (server-sent
    events) instead of one JSON object, and text arrives as it is decoded. Each event has an
    `event:` name and one `data:` line holding a JSON object:

    * `chunk`: `GenerateChunk`, the next piece of new text (always whole characters; the
      chunks joined are `generated_text`). One or more per generation, in order.
    * `done`: `GenerateResponse`, the same fields as the non-streamed answer (counts,
      `model_session_id`, the whole `generated_text`). The last event of a success.
    * `error`: `Problem` (`type`, `title`, `status`, `detail`, `code`, ...), when generation
      fails after the stream began (`MODEL_001`, `SYS_001`). The last event of a failure.

    The stream ends after `done` or `error`; a stream that ends without either was cut off.
    Everything refused before the stream begins (validation, authentication, no model,
    rate limits) is an ordinary problem+json answer with its 4xx/5xx status. A client that
    disconnects stops its generation.

    Args:
        idempotency_key (str | Unset):
        body (GenerateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GenerateResponse | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
