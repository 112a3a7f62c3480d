"""The customer's data-subject requests: POST/GET /v1/me/exports, the archive download, and
GET /v1/me/processing. Every call is audited before the answer is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Stream

from api.dsr import TAG
from api.dsr.dtos import Export, ExportPage, ProcessingFacts, export_out, processing_out
from api.routes import Cursor, Limit, customer_access, guarded, problems
from domain.clock import Clock
from domain.dsr.export import open_archive, read_export, request_export
from domain.dsr.my_exports import list_my_exports
from domain.dsr.processing import read_processing
from domain.dsr.requests import ArchiveExpired, DsrUnitOfWork
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT

DsrUnits = NamedDependency[Callable[[], DsrUnitOfWork]]
_WORDED = {
    404: "No such request for this customer (missing, someone else's or malformed id)",
    410: "The archive has expired and was deleted; ask for a new export",
}

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
                Export, description=("An export is already being prepared: that one is returned")
            ),
            **problems(),
        },
        response_headers=[
            ResponseHeader(
                name="Location",
                description="Where to follow the export (GET), on 202 and 200 alike.",
                documentation_only=True,
            )
        ],
        **guarded("dsr:write", "export.request", "dsr_request", tag=TAG),
    )
    async def create_export(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
    ) -> Response[Export]:
        """202 with the queued export; 200 with the running one when there already is one."""
        export, created = await request_export(dsr_units, clock, customer_access(caller, request))
        return Response(
            export_out(export, clock.now()),
            status_code=202 if created else 200,
            headers={"Location": f"/v1/me/exports/{export.id}"},
        )

    @get(
        "/exports",
        operation_id="listMyExports",
        summary="My export requests, newest first",
        responses=problems(400),
        **guarded("dsr:write", "export.list", "dsr_request", tag=TAG),
    )
    async def list_exports(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ExportPage:
        """Every export I asked for (any status), newest first, with a signed cursor."""
        page = await list_my_exports(
            dsr_units,
            clock,
            customer_access(caller, request),
            limit=limit,
            cursor=cursor,
        )
        now = clock.now()
        return ExportPage([export_out(e, now) for e in page.items], page.next_cursor)

    @get(
        "/exports/{export_id:str}",
        operation_id="getMyExport",
        summary="Where my export stands: status, progress, size, digest, expiry",
        responses=problems(404, worded=_WORDED),
        **guarded("dsr:write", "export.read", "dsr_request", tag=TAG),
    )
    async def get_export(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        export_id: FromPath[str],
    ) -> Export:
        """The export request of the caller with this id."""
        export = await read_export(dsr_units, customer_access(caller, request), export_id)
        return export_out(export, clock.now())

    @get(
        "/exports/{export_id:str}/archive",
        operation_id="downloadMyExport",
        summary="Download my export archive (ZIP, streamed)",
        media_type="application/zip",
        responses=problems(404, 409, 410, worded=_WORDED),
        response_headers=_ARCHIVE_HEADERS,
        **guarded("dsr:write", "export.download", "dsr_request", tag=TAG),
    )
    async def download(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        export_id: FromPath[str],
    ) -> Stream:
        """The archive, streamed from disk in chunks (constant memory)."""
        archive = await open_archive(dsr_units, clock, customer_access(caller, request), export_id)
        if not await anyio.Path(archive.path).is_file():
            # Deleted by the expiry sweep between the status check and now.
            raise ArchiveExpired("the archive has expired; ask for a new export")
        return Stream(
            archive.chunks,
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
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
    ) -> ProcessingFacts:
        """Purposes, legal bases, data categories, recipients, retention and sources."""
        facts = await read_processing(dsr_units, customer_access(caller, request))
        return processing_out(facts)
