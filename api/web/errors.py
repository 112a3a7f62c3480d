"""What a page shows when it cannot go on: the sign-in page for a missing session, a
message for a refused form, a failed sign-in, a problem the API answered with, or an address
under the pages that names no page."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Template

from api.web.forms import CsrfRefused
from api.web.inprocess import ApiRefused, ApiUnauthorized
from api.web.pages import Site, render
from api.web.redirects import see_other
from api.web.signin import NotSignedIn, SignInFailed, WebApp, session_cookie
from api.web.wiring import wiring_of

N_ = str
"""Marks a message for translation where it is defined; pages translate it when shown."""

API_MESSAGES = {
    403: N_("You are not allowed to do this."),
    404: N_("We could not find that. It may not exist, or it is not yours."),
    409: N_("This conflicts with the current state. Reload the page and try again."),
    422: N_("Some values are not valid."),
    429: N_("Too many requests. Wait a moment and try again."),
}


def _message(
    request: Request[Any, Any, Any],
    app: WebApp,
    context: Callable[[], dict[str, Any]],
    *,
    heading: str,
    text: str,
    status: int,
    **extra: Any,
) -> Template:
    values = {
        **context(),
        "heading": heading,
        "message": text,
        "detail": extra.get("detail"),
        "errors": extra.get("errors", ()),
        "action_href": extra.get("action_href"),
        "action_label": extra.get("action_label", ""),
    }
    return render(request, app, "message.html", values, status=status)


def _field_errors(problem: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (field, message) pairs a problem document lists under `errors`, which its detail
    ("see errors") points to; the well-formed ones only."""
    listed = problem.get("errors")
    if not isinstance(listed, list):
        return []
    return [
        (str(error["field"]), str(error["message"]))
        for error in listed
        if isinstance(error, dict) and "field" in error and "message" in error
    ]


def not_found_pages(
    sites: Sequence[Site],
    otherwise: Callable[[Request[Any, Any, Any], NotFoundException], Response[Any]],
) -> Callable[[Request[Any, Any, Any], NotFoundException], Response[Any]]:
    """The application's handler of "no such route": under a page app's prefix a page in
    that app's layout, since a person followed a link there; anywhere else (the API, OAuth)
    `otherwise`, the problem document."""

    def not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        path = request.url.path
        for site in sites:
            prefix = site.app.prefix
            if path == prefix or path.startswith(prefix + "/"):
                return _message(
                    request,
                    site.app,
                    site.chrome,
                    heading=N_("Page not found"),
                    text=N_("There is no page at this address. The link may be old or mistyped."),
                    status=404,
                    action_href=site.app.home,
                    action_label=N_("Back to the start"),
                )
        return otherwise(request, exc)

    return not_found


def exception_handlers(
    app: WebApp, context: Callable[[], dict[str, Any]]
) -> dict[type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]]:
    """The handlers a page app's router installs; `context` gives its navigation."""

    def to_home(request: Request[Any, Any, Any], _exc: NotSignedIn) -> Response[str]:
        # A session that ended (idle, revoked) loses its cookie too.
        return see_other(
            app.home,
            headers={"Cache-Control": "no-store"},
            cookies=[session_cookie(app, wiring_of(request), "", clear=True)],
        )

    def unauthorized(request: Request[Any, Any, Any], _exc: ApiUnauthorized) -> Response[str]:
        return to_home(request, NotSignedIn(app))

    def message(
        request: Request[Any, Any, Any], heading: str, text: str, status: int, **extra: Any
    ) -> Template:
        return _message(request, app, context, heading=heading, text=text, status=status, **extra)

    def csrf(request: Request[Any, Any, Any], _exc: CsrfRefused) -> Template:
        return message(
            request,
            N_("This form has expired"),
            N_("The form did not come from this page or has expired. Go back and try again."),
            403,
            action_href=app.home,
            action_label=N_("Back to the start"),
        )

    def failed(request: Request[Any, Any, Any], exc: SignInFailed) -> Template:
        if exc.reason == "invalid_scope":  # signed in, as someone these pages are not for
            return message(
                request,
                N_("Sign-in did not complete"),
                N_(
                    "This account cannot use these pages: they are for other roles. "
                    "Sign in with another account."
                ),
                403,
                action_href=app.prefix + "/login",
                action_label=N_("Sign in"),
            )
        return message(
            request,
            N_("Sign-in did not complete"),
            N_("The sign-in was cancelled, expired or did not match. Please start again."),
            400,
            action_href=app.prefix + "/login",
            action_label=N_("Sign in"),
        )

    def refused(request: Request[Any, Any, Any], exc: ApiRefused) -> Template:
        text = API_MESSAGES.get(exc.status, N_("Something went wrong. Please try again."))
        status = exc.status if 400 <= exc.status < 600 else 502
        return message(
            request,
            N_("That did not work"),
            text,
            status,
            detail=exc.detail or None,
            errors=_field_errors(exc.body),
            action_href=app.home,
            action_label=N_("Back to the start"),
        )

    return {
        NotSignedIn: to_home,
        ApiUnauthorized: unauthorized,
        CsrfRefused: csrf,
        SignInFailed: failed,
        ApiRefused: refused,
    }
