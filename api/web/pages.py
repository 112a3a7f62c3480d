"""Rendering a page: the Jinja environment (autoescaping always on), the context every page
gets (translations, the script nonce, the CSRF token, the app's links) and its headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

from api.web.security import CSRF_FIELD, new_nonce, page_headers
from api.web.signin import SignedIn, WebApp
from api.web.translations import choose_language, translations

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/static/web"


def when(value: object) -> str:
    """An API timestamp (ISO 8601) as `2026-01-31 14:05 UTC`; anything else as it is."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def environment() -> Environment:
    """The pages' Jinja environment: every value is HTML-escaped unless a template says
    otherwise, and an unknown name is an error rather than an empty string."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template support over that environment."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def language_of(request: Request[Any, Any, Any], current: SignedIn | None) -> str:
    """The profile's language when known, else the browser's."""
    profile = current.language if current is not None else None
    return choose_language(profile, request.headers.get("accept-language"))


def render(
    request: Request[Any, Any, Any],
    app: WebApp,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    current: SignedIn | None = None,
    status: int = 200,
) -> Template:
    """The page `template` with the shared context and the security headers."""
    nonce = new_nonce()
    language = language_of(request, current)
    catalogue = translations(language)
    shared: dict[str, Any] = {
        "_": catalogue.gettext,
        "ngettext": catalogue.ngettext,
        "lang": language,
        "nonce": nonce,
        "csrf_field": CSRF_FIELD,
        "csrf": current.csrf if current is not None else "",
        "signed_in": current is not None,
        "app": app,
        "path": request.url.path,
        "static": STATIC_PATH,
        "nav": [],
        "app_title": "",
        "notice": None,
    }
    return Template(
        template_name=template,
        context={**shared, **(context or {})},
        headers=page_headers(nonce),
        status_code=status,
        media_type="text/html",
    )


@dataclass(frozen=True, slots=True)
class Site:
    """A page app as its pages see it: the app, its navigation, its title and the notices a
    `?done=` query names. Its templates live under `<app name>/`."""

    app: WebApp
    nav: list[tuple[str, str]]
    title: str
    notices: dict[str, str]

    def chrome(self) -> dict[str, Any]:
        """What every page of the app shows around its content."""
        return {"nav": self.nav, "app_title": self.title}

    def page(
        self,
        request: Request[Any, Any, Any],
        template: str,
        context: dict[str, Any] | None = None,
        *,
        current: SignedIn | None,
        status: int = 200,
    ) -> Template:
        """A page of the app, with the notice named by `?done=` when there is one."""
        notice = self.notices.get(request.query_params.get("done") or "")
        values = {**self.chrome(), "notice": notice, **(context or {})}
        return render(
            request,
            self.app,
            f"{self.app.name}/{template}",
            values,
            current=current,
            status=status,
        )
