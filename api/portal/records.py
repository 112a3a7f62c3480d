"""Read-only pages: accounts, an account's transactions (paged), the access log (paged)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from api.portal.site import PORTAL, page, paging
from api.web.signin import signed_in


@get("/accounts", name="portal-accounts", include_in_schema=False)
async def show_accounts(request: Request[Any, Any, Any]) -> Template:
    """My accounts."""
    current = await signed_in(request, PORTAL)
    listing = await current.api.get_json("/v1/me/accounts", paging(request))
    return page(
        request,
        "accounts.html",
        {"accounts": listing["items"], "next_cursor": listing.get("next_cursor")},
        current=current,
    )


@get("/accounts/{account_id:str}", name="portal-account", include_in_schema=False)
async def show_account(request: Request[Any, Any, Any], account_id: FromPath[str]) -> Template:
    """One account and a page of its transactions, newest first."""
    current = await signed_in(request, PORTAL)
    path = f"/v1/me/accounts/{quote(account_id, safe='')}"
    account = await current.api.get_json(path)
    transactions = await current.api.get_json(path + "/transactions", paging(request))
    return page(
        request,
        "account.html",
        {
            "account": account,
            "transactions": transactions["items"],
            "next_cursor": transactions.get("next_cursor"),
        },
        current=current,
    )


@get("/access-log", name="portal-access-log", include_in_schema=False)
async def show_access_log(request: Request[Any, Any, Any]) -> Template:
    """Who looked at my data, when and why."""
    current = await signed_in(request, PORTAL)
    log = await current.api.get_json("/v1/me/access-log", paging(request))
    return page(
        request,
        "access_log.html",
        {"entries": log["items"], "next_cursor": log.get("next_cursor")},
        current=current,
    )
