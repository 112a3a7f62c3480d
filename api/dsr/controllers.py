"""The customer's data-subject requests: POST/GET /v1/me/exports, the archive download, and
GET /v1/me/processing. Every call is audited before the answer is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Stream

from api.dsr.dtos import ExportOut, ProcessingOut, export_out, processing_out
from api.oauth.me import Problem
from api.oauth.services import OAuthServices
from api.problems import VALIDATION_TYPE, FieldError, ProblemException
from api.self_service.common import customer_access
from domain.dsr.export import open_archive, read_export, request_export
from domain.dsr.processing import read_processing
from domain.dsr.requests import ArchiveExpired, DsrUnitOfWork
from domain.identity import Caller
from domain.ports import UnitOfWork

TAG = "data-subject-requests"
Uow = NamedDependency[Callable[[], UnitOfWork]]
CHUNK = 64 * 1024

_DESCRIPTIONS = {
    401: "Missing, invalid, expired or revoked access token",
    403: "The access token lacks the scope, or the caller is not a customer",
    404: "No such request for this customer (missing, someone else's or malformed id)",
    409: "The request conflicts with the current state (an export not ready yet, or a "
    "customer whose data was erased)",
    410: "The archive has expired and was deleted; ask for a new export",
    400: "The body or a query parameter is not valid (a tampered cursor included)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem+json documentation for 401, 403 and each of `statuses`."""
    return {
        status: ResponseSpec(
            Problem,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in sorted({401, 403, *statuses})
    }


def guarded(scope: str, action: str, resource_type: str) -> dict[str, Any]:
    """The scope the guard requires (and documents), the tag, and the denied-audit event."""
    return {
        "opt": {"scopes": (scope,), "audit": (action, resource_type)},
        "security": [{"oauth2": [scope]}],
        "tags": [TAG],
    }


T = TypeVar("T")


async def strict_body(request: Request[Any, Any, Any], parsed: T) -> T:
    """The body decoded strictly as `type(parsed)`: Litestar converts bodies leniently (0
    becomes false, "5" becomes 5), the document promises exact types. 400 otherwise."""
    try:
        raw = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return parsed  # not JSON at all: Litestar would already have refused it
    if isinstance(raw, dict):
        # JSON Schema counts 58.0 as an integer; none of these bodies has a float member.
        raw = {
            key: int(value) if isinstance(value, float) and value.is_integer() else value
            for key, value in raw.items()
        }
    try:
        return msgspec.convert(raw, type=type(parsed), strict=True)
    except msgspec.ValidationError as error:
        raise ProblemException(
            400,
            "The request is not valid; see errors.",
            problem_type=VALIDATION_TYPE,
            errors=[FieldError("body", str(error), "body")],
        ) from None


def dsr_units(uow_factory: Callable[[], UnitOfWork]) -> Callable[[], DsrUnitOfWork]:
    # The composition root's unit of work implements the DSR ports too.
    return cast("Callable[[], DsrUnitOfWork]", uow_factory)


_ARCHIVE_HEADERS = [
    ResponseHeader(
        name="Content-Length", description="The archive's size in bytes.", documentation_only=True
    ),
    ResponseHeader(
        name="Content-Disposition",
        description="attachment; the file name.",
        documentation_only=True,
    ),
    ResponseHeader(
        name="ETag", description="The archive's SHA-256, quoted.", documentation_only=True
    ),
]


async def _chunks(path: str) -> AsyncIterator[bytes]:
    async with await anyio.open_file(Path(path), "rb") as stream:
        while chunk := await stream.read(CHUNK):
            yield chunk


class DataSubjectRequests(Controller):
    """Exports of the caller's data and the facts about its processing."""

    path = "/v1/me"

    @post(
        "/exports",
        operation_id="requestMyExport",
        status_code=202,
        summary="Ask for a copy of all my data (ZIP archive, prepared in the background)",
        responses={
            200: ResponseSpec(
                ExportOut, description=("An export is already being prepared: that one is returned")
            ),
            **problems(),
        },
        **guarded("dsr:write", "export.request", "dsr_request"),
    )
    async def create_export(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
    ) -> Response[ExportOut]:
        """202 with the queued export; 200 with the running one when there already is one."""
        export, created = await request_export(
            dsr_units(uow_factory), oauth.clock, customer_access(caller, request)
        )
        return Response(export_out(export, oauth.clock.now()), status_code=202 if created else 200)

    @get(
        "/exports/{export_id:str}",
        operation_id="getMyExport",
        summary="Where my export stands: status, progress, size, digest, expiry",
        responses=problems(404),
        **guarded("dsr:write", "export.read", "dsr_request"),
    )
    async def get_export(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        export_id: FromPath[str],
    ) -> ExportOut:
        """The export request of the caller with this id."""
        export = await read_export(
            dsr_units(uow_factory), customer_access(caller, request), export_id
        )
        return export_out(export, oauth.clock.now())

    @get(
        "/exports/{export_id:str}/archive",
        operation_id="downloadMyExport",
        summary="Download my export archive (ZIP, streamed)",
        media_type="application/zip",
        responses=problems(404, 409, 410),
        response_headers=_ARCHIVE_HEADERS,
        **guarded("dsr:write", "export.download", "dsr_request"),
    )
    async def download(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        export_id: FromPath[str],
    ) -> Stream:
        """The archive, streamed from disk in chunks (constant memory)."""
        archive = await open_archive(
            dsr_units(uow_factory), oauth.clock, customer_access(caller, request), export_id
        )
        if not await anyio.Path(archive.path).is_file():
            # Deleted by the expiry sweep between the status check and now.
            raise ArchiveExpired("the archive has expired; ask for a new export")
        return Stream(
            archive.chunks if archive.chunks is not None else _chunks(archive.path),
            media_type="application/zip",
            headers={
                "Content-Length": str(archive.size),
                "Content-Disposition": f'attachment; filename="{archive.filename}"',
                "ETag": f'"{archive.sha256}"',
            },
        )

    @get(
        "/processing",
        operation_id="getMyProcessing",
        summary="Why and how my data is processed (Art. 15 facts)",
        responses=problems(),
        tags=[TAG],
        opt={"scopes": ("profile:read",), "audit": ("processing.read", "processing")},
        security=[{"oauth2": ["profile:read"]}],
    )
    async def get_processing(
        self, *, caller: NamedDependency[Caller], request: Request[Any, Any, Any], uow_factory: Uow
    ) -> ProcessingOut:
        """Purposes, legal bases, data categories, recipients, retention and sources."""
        facts = await read_processing(dsr_units(uow_factory), customer_access(caller, request))
        return processing_out(facts)
