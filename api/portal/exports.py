"""A copy of my data: ask for it, watch it being prepared, download the archive."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Stream, Template

from api.portal.site import PORTAL, page
from api.web.forms import posted_form
from api.web.inprocess import stream_get
from api.web.redirects import see_other
from api.web.signin import signed_in

IN_PROGRESS = frozenset({"queued", "running"})
PASSED_HEADERS = ("content-length", "content-disposition", "etag")


def _path(export_id: FromPath[str]) -> str:
    return f"/v1/me/exports/{quote(export_id, safe='')}"


@get("/exports", name="portal-exports", include_in_schema=False)
async def show_exports(request: Request[Any, Any, Any]) -> Template:
    """My exports, newest first, with the button to ask for a new one."""
    current = await signed_in(request, PORTAL)
    exports = (await current.api.get_json("/v1/me/exports"))["items"]
    return page(
        request,
        "exports.html",
        {"exports": exports, "in_progress": IN_PROGRESS},
        current=current,
    )


@post("/exports", name="portal-export-request", include_in_schema=False, status_code=303)
async def request_export(request: Request[Any, Any, Any]) -> Response[str]:
    """Ask for an export (the running one is reused), then follow it."""
    current = await signed_in(request, PORTAL)
    await posted_form(request, PORTAL, current)
    created = await current.api.call("POST", "/v1/me/exports", ok=(200, 202))
    export_id = created.json()["id"]
    return see_other(f"/portal/exports/{quote(export_id, safe='')}?done=export-requested")


@get("/exports/{export_id:str}", name="portal-export", include_in_schema=False)
async def show_export(request: Request[Any, Any, Any], export_id: FromPath[str]) -> Template:
    """One export: its progress while it is prepared, then its download."""
    current = await signed_in(request, PORTAL)
    export = await current.api.get_json(_path(export_id))
    return page(
        request,
        "export.html",
        {"export": export, "in_progress": IN_PROGRESS},
        current=current,
    )


@get("/exports/{export_id:str}/status", name="portal-export-status", include_in_schema=False)
async def export_status(request: Request[Any, Any, Any], export_id: FromPath[str]) -> Response[Any]:
    """Status and progress as JSON, for the page's progress bar."""
    current = await signed_in(request, PORTAL)
    export = await current.api.get_json(_path(export_id))
    return Response(
        {"status": export["status"], "progress": export["progress"]},
        headers={"Cache-Control": "no-store"},
    )


@get("/exports/{export_id:str}/archive", name="portal-export-archive", include_in_schema=False)
async def download_export(request: Request[Any, Any, Any], export_id: FromPath[str]) -> Stream:
    """The archive, streamed through from the API as it is decrypted."""
    current = await signed_in(request, PORTAL)
    token = current.session.secrets.access_token or ""
    streamed = await stream_get(request, _path(export_id) + "/archive", token)
    headers = {k: v for k, v in streamed.headers.items() if k in PASSED_HEADERS}
    return Stream(
        streamed.body,
        media_type="application/zip",
        headers={**headers, "Cache-Control": "no-store"},
    )
