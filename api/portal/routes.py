"""Every portal page, under /portal, with the handlers that turn a missing session, a
refused form or an API refusal into a page."""

from __future__ import annotations

from litestar import Router

from api.portal import (
    consents,
    erasure,
    exports,
    overview,
    profile,
    records,
    requests,
)
from api.portal.site import PORTAL, chrome
from api.web.errors import exception_handlers


def portal_router() -> Router:
    """The /portal router."""
    return Router(
        path=PORTAL.prefix,
        route_handlers=[
            overview.home,
            overview.login,
            overview.callback,
            overview.logout,
            profile.show_profile,
            profile.save_profile,
            records.show_accounts,
            records.show_account,
            records.show_access_log,
            consents.show_consents,
            consents.change_consent,
            consents.download_receipt,
            exports.show_exports,
            exports.request_export,
            exports.show_export,
            exports.export_status,
            exports.download_export,
            erasure.show_erasure,
            erasure.request_erasure,
            erasure.show_erasure_request,
            erasure.cancel_erasure,
            overview.more,
            requests.show_interactions,
            requests.show_corrections,
            requests.ask_correction,
            requests.show_restriction,
            requests.set_restriction,
            requests.show_preferences,
            requests.save_preferences,
        ],
        exception_handlers=exception_handlers(PORTAL, chrome),  # type: ignore[arg-type]
        include_in_schema=False,
    )
