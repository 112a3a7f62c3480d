"""Consents as toggles: grant or withdraw each purpose, every change with its signed
receipt, each receipt downloadable."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from api.portal.site import PORTAL, page
from api.web.forms import posted_form
from api.web.inprocess import ApiRefused
from api.web.redirects import see_other
from api.web.signin import signed_in


@get("/consents", name="portal-consents", include_in_schema=False)
async def show_consents(request: Request[Any, Any, Any]) -> Template:
    """Every purpose with its switch, and the receipts newest first."""
    current = await signed_in(request, PORTAL)
    consents = (await current.api.get_json("/v1/me/consents"))["items"]
    receipts = (await current.api.get_json("/v1/me/consents/history"))["items"]
    return page(
        request,
        "consents.html",
        {"consents": consents, "receipts": list(reversed(receipts))},
        current=current,
    )


@post("/consents/{purpose:str}", name="portal-consent-change", include_in_schema=False)
async def change_consent(request: Request[Any, Any, Any], purpose: FromPath[str]) -> Response[str]:
    """Grant or withdraw, for the notice version the page showed."""
    current = await signed_in(request, PORTAL)
    fields = await posted_form(request, PORTAL, current)
    granted = fields.get("granted") == "true"
    await current.api.call(
        "PUT",
        f"/v1/me/consents/{quote(purpose, safe='')}",
        json={"granted": granted, "notice_version": fields.get("notice_version", "")},
    )
    done = "consent-granted" if granted else "consent-withdrawn"
    return see_other(f"/portal/consents?done={done}")


@get("/consents/receipts/{receipt_id:str}", name="portal-receipt", include_in_schema=False)
async def download_receipt(
    request: Request[Any, Any, Any], receipt_id: FromPath[str]
) -> Response[bytes]:
    """One receipt as a JSON file: the change and its signature, as the API gave it."""
    current = await signed_in(request, PORTAL)
    receipts = (await current.api.get_json("/v1/me/consents/history"))["items"]
    found = next((item for item in receipts if item["receipt_id"] == receipt_id), None)
    if found is None:
        raise ApiRefused(404, "Not Found", "", {})
    safe = "".join(c for c in receipt_id if c.isalnum() or c in "-_")[:64] or "receipt"
    return Response(
        json.dumps(found, indent=2).encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="consent-receipt-{safe}.json"',
            "Cache-Control": "no-store",
        },
    )
