"""Artifacts: streaming upload, filtered listing, metadata, streaming download."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from evospikenet.server.auth import require_api_key
from evospikenet.server.blobstore import DigestMismatch
from evospikenet.server.catalog import Catalog
from evospikenet.server.downloads import download_response
from evospikenet.server.errors import ApiError
from evospikenet.server.routers.common import json_response, page_response
from evospikenet.server.routers.sessions import session_not_found
from evospikenet.server.state import server_state
from evospikenet.server.uploads import read_multipart

router = APIRouter(dependencies=[Depends(require_api_key)])

UPLOAD_SCHEMA = "ArtifactUpload"


def artifact_not_found(artifact_id: str) -> ApiError:
    """The 404 ``ART_001`` answer."""
    return ApiError(404, "ART_001", f"No artifact {artifact_id!r}.", kind="not-found")


def _digest_mismatch(exc: DigestMismatch) -> ApiError:
    return ApiError(
        422,
        "ART_002",
        f"The file's sha256 is {exc.actual}, not the {exc.expected} that was sent; "
        "nothing was stored.",
        kind="digest-mismatch",
        errors=[{"field": "body.sha256", "message": "does not match", "type": "digest"}],
    )


@router.post("/api/artifacts")
async def upload_artifact(request: Request) -> Response:
    """Every field is checked before the blob is committed and the row written; a failure at
    any point leaves no temp file, blob or row."""
    state = server_state(request)
    state.contract.parameters("uploadArtifact", request)

    def check_field(name: str, value: str | None) -> None:
        if value is None:
            state.contract.check_known_property(UPLOAD_SCHEMA, name)
        else:
            state.contract.validate_property(UPLOAD_SCHEMA, name, value)

    upload = await read_multipart(
        request, state.blobs, max_file_bytes=state.settings.max_upload_bytes, check=check_field
    )
    catalog = Catalog(state.db)
    try:
        fields = dict(upload.fields)
        if upload.file is not None:
            fields["file"] = "(binary)"
        state.contract.validate_schema(UPLOAD_SCHEMA, fields)
        session_id = fields["session_id"]
        if not await run_in_threadpool(catalog.session_exists, session_id):
            raise session_not_found(session_id)
        assert upload.file is not None
        writer = upload.file
        try:
            digest = await run_in_threadpool(writer.commit, fields.get("sha256"))
        except DigestMismatch as exc:
            raise _digest_mismatch(exc) from None
    except BaseException:
        upload.discard()
        raise
    try:
        artifact = await run_in_threadpool(
            lambda: catalog.add_artifact(
                session_id=session_id,
                artifact_type=fields["artifact_type"],
                name=fields["name"],
                llm_type=fields.get("llm_type"),
                size=writer.size,
                sha256=digest,
                content_type=upload.file_content_type,
            )
        )
        if artifact is None:
            raise session_not_found(session_id)
    except BaseException:
        with anyio.CancelScope(shield=True):  # also when the client went away meanwhile
            await run_in_threadpool(state.blobs.abandon, digest, catalog.is_referenced)
        raise
    state.blobs.release(digest)
    state.models.artifact_uploaded(artifact)
    return json_response(
        artifact, 201, headers={"Location": f"/api/artifacts/{artifact['artifact_id']}"}
    )


@router.get("/api/artifacts")
async def list_artifacts(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("listArtifacts", request)
    page = await run_in_threadpool(
        lambda: Catalog(state.db).list_artifacts(
            limit=params["limit"],
            cursor=params["cursor"],
            artifact_type=params["artifact_type"],
            session_id=params["session_id"],
            llm_type=params["llm_type"],
            name=params["name"],
        )
    )
    return page_response(request, page)


@router.get("/api/artifacts/{artifact_id}")
async def get_artifact(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("getArtifact", request)
    artifact = await run_in_threadpool(Catalog(state.db).get_artifact, params["artifact_id"])
    if artifact is None:
        raise artifact_not_found(params["artifact_id"])
    return json_response(artifact)


@router.get("/api/artifacts/{artifact_id}/download")
async def download_artifact(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("downloadArtifact", request)
    artifact = await run_in_threadpool(Catalog(state.db).get_artifact, params["artifact_id"])
    if artifact is None:
        raise artifact_not_found(params["artifact_id"])
    return download_response(state.blobs, artifact, params["Range"], params["If-None-Match"])
