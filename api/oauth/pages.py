"""The sign-in, consent and error pages: plain HTML forms that work without JavaScript.

They are Jinja templates (`api/web/templates/oauth/`) on the pages' layout and stylesheet,
with autoescaping on, so every dynamic value is HTML-escaped and no inline style or script
is needed. Inputs have visible labels tied by `for`/`id`; errors are announced with
role="alert" and tied to the fields they concern.
"""

from __future__ import annotations

from typing import Any

from api.web.pages import STATIC_PATH, environment
from api.web.translations import DEFAULT_LANGUAGE, translations
from domain.identity import ERASE_SCOPE, SCOPE_DESCRIPTIONS

_ENVIRONMENT = environment()


def _render(template: str, language: str, **context: Any) -> str:
    catalogue = translations(language)
    shared: dict[str, Any] = {
        "_": catalogue.gettext,
        "ngettext": catalogue.ngettext,
        "lang": language,
        "nonce": "",  # no script at all on these pages
        "csrf_field": "csrf_token",
        "csrf": "",
        "signed_in": False,
        "app": None,
        "path": "",
        "static": STATIC_PATH,
        "nav": [],
        "app_title": "Sign-in",
        "notice": None,
    }
    return _ENVIRONMENT.get_template(f"oauth/{template}").render({**shared, **context})


def login_page(
    client_name: str,
    params: list[tuple[str, str]],
    csrf: str,
    error: str | None = None,
    email: str = "",
    *,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """The sign-in form; `params` are the authorization request's, carried along."""
    return _render(
        "login.html",
        language,
        client_name=client_name,
        params=params,
        form_csrf=csrf,
        error=error,
        email=email,
    )


def consent_page(
    client_name: str,
    scopes: list[str],
    params: list[tuple[str, str]],
    csrf: str,
    ticket: str,
    *,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """The consent screen: each requested scope in plain words, allow or deny."""
    return _render(
        "consent.html",
        language,
        client_name=client_name,
        items=[(SCOPE_DESCRIPTIONS.get(s, s), s) for s in scopes],
        erase=ERASE_SCOPE in scopes,
        params=params,
        form_csrf=csrf,
        ticket=ticket,
    )


def error_page(message: str, language: str = DEFAULT_LANGUAGE) -> str:
    """An error shown in place of a redirect (unknown client or redirect URI, bad form)."""
    return _render("error.html", language, message=message)
