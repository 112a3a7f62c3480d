"""The portal's pages over HTTP (no browser): sign-in, the session cookie, CSRF, the
security headers, the profile conflict, and what a stranger or another customer can reach."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from oauth_harness import ISSUER, World
from sqlalchemy import text
from web_harness import hidden_fields, register_web_clients, sign_in

ADA = "ada@example.com"
GRACE = "grace@example.com"


@pytest.fixture
async def portal(world: World) -> World:
    """The world with the portal's client registered and two customers."""
    await register_web_clients(world)
    await world.add_customer(ADA)
    await world.add_customer(GRACE)
    return world


def browser(world: World) -> httpx.AsyncClient:
    """A second cookie jar on the same in-process app."""
    return httpx.AsyncClient(transport=world.http._transport, base_url=ISSUER)


async def test_sign_in_sets_a_session_cookie_and_shows_the_profile(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        cookie = next(c for c in http.cookies.jar if c.name == "custodian_portal")
        assert cookie.path == "/portal"
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert not cookie.secure  # the issuer is http://: a Secure cookie would be dropped
        page = await http.get("/portal/profile")
        assert page.status_code == 200
        assert "Ada" in page.text
        assert ADA in page.text


@pytest.mark.parametrize(
    ("asked", "lands_on"),
    [
        ("/portal/exports", "/portal/exports"),
        ("/portal/corrections?done=asked", "/portal/corrections?done=asked"),
        ("//evil.example/portal/", "/portal"),
        ("https://evil.example/portal/", "/portal"),
        ("/portal/..//evil.example", "/portal"),
        ("/portal/../oauth/authorize", "/portal"),
        ("/portal/\u2028x", "/portal"),  # not ASCII: the header could not carry it
        ("/portal/\r\nSet-Cookie: x=1", "/portal"),  # a line break would end the header
        ("/portal/\\evil.example", "/portal"),
    ],
)
async def test_sign_in_comes_back_only_to_a_page_of_the_portal(
    portal: World, asked: str, lands_on: str
) -> None:
    async with browser(portal) as http:
        done = await sign_in(http, ADA, start="/portal/login?next=" + quote(asked, safe=""))
    assert done.headers["location"] == lands_on
    assert "set-cookie: x" not in str(done.headers).lower()


async def test_pages_carry_a_nonce_csp_without_unsafe_inline(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        page = await http.get("/portal/profile")
    policy = page.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text
    assert "style=" not in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_every_page_refuses_without_a_session(portal: World) -> None:
    async with browser(portal) as http:
        for path in ("/portal/profile", "/portal/consents", "/portal/exports", "/portal/erasure"):
            response = await http.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/portal"
            assert response.headers["content-type"].startswith("text/plain"), path
        posted = await http.post("/portal/profile", data={"given_name": "Mallory"})
        assert posted.status_code == 303
        welcome = await http.get("/portal")
        assert "Sign in" in welcome.text
        assert "Lovelace" not in welcome.text


async def test_a_form_without_the_csrf_token_is_refused(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        form = hidden_fields((await http.get("/portal/profile")).text)
        base = {"etag": form["etag"], "given_name": "Mallory", "family_name": "M", "language": "en"}
        for token in (None, "0" * 64):
            data = base if token is None else {**base, "csrf_token": token}
            refused = await http.post("/portal/profile", data=data)
            assert refused.status_code == 403
        profile = await http.get("/portal/profile")
        assert "Mallory" not in profile.text


async def test_a_stale_profile_form_is_a_conflict_not_an_overwrite(portal: World) -> None:
    async with browser(portal) as first, browser(portal) as second:
        await sign_in(first, ADA)
        await sign_in(second, ADA)
        old = hidden_fields((await first.get("/portal/profile")).text)
        other = hidden_fields((await second.get("/portal/profile")).text)
        fields = {"family_name": "Lovelace", "language": "en", "phone": "", "preferred_name": ""}
        saved = await second.post(
            "/portal/profile", data={**other, **fields, "given_name": "Augusta"}
        )
        assert saved.status_code == 303
        assert saved.headers["location"].endswith("done=profile-saved")
        assert saved.headers["content-type"].startswith("text/plain")  # empty, not JSON
        assert saved.content == b""
        stale = await first.post("/portal/profile", data={**old, **fields, "given_name": "Ada"})
        assert stale.status_code == 409
        assert "changed somewhere else" in stale.text
        assert 'value="Augusta"' in stale.text


async def test_an_invalid_value_is_tied_to_its_field(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        form = hidden_fields((await http.get("/portal/profile")).text)
        answer = await http.post(
            "/portal/profile",
            data={**form, "given_name": "Ada", "family_name": "L", "language": "en", "phone": "12"},
        )
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert 'aria-describedby="phone-hint phone-error"' in answer.text
    assert 'id="phone-error"' in answer.text


async def test_sign_out_revokes_the_tokens_and_forgets_the_session(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        cookie = http.cookies.get("custodian_portal", path="/portal")
        form = hidden_fields((await http.get("/portal/profile")).text)
        out = await http.post("/portal/logout", data={"csrf_token": form["csrf_token"]})
        assert out.status_code == 303
        assert "custodian_portal" not in {c.name for c in http.cookies.jar if c.value}
    async with browser(portal) as replay:
        replay.cookies.set("custodian_portal", cookie or "", path="/portal")
        refused = await replay.get("/portal/profile")
        assert refused.status_code == 303
    async with portal.engine.connect() as connection:
        grants = (
            await connection.execute(
                text("SELECT revoked_at FROM oauth_grants WHERE client_id = 'portal'")
            )
        ).all()
        sessions = (await connection.execute(text("SELECT count(*) FROM web_sessions"))).scalar()
    assert grants
    assert all(row[0] is not None for row in grants)  # revoked at /oauth/revoke
    assert sessions == 0


async def test_an_idle_session_ends(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        assert (await http.get("/portal/profile")).status_code == 200
        portal.clock.advance(16 * 60)
        assert (await http.get("/portal/profile")).status_code == 303


async def test_pages_speak_the_browsers_language_then_the_profiles(portal: World) -> None:
    async with browser(portal) as http:
        welcome = await http.get("/portal", headers={"Accept-Language": "de-DE,de;q=0.9"})
        assert '<html lang="de">' in welcome.text
        assert "Ihre Daten bei Custodian" in welcome.text
        await sign_in(http, ADA)
        form = hidden_fields((await http.get("/portal/profile")).text)
        fields = {"given_name": "Ada", "family_name": "Lovelace", "phone": "", "preferred_name": ""}
        saved = await http.post("/portal/profile", data={**form, **fields, "language": "de"})
        assert saved.status_code == 303
        page = await http.get("/portal/profile", headers={"Accept-Language": "en"})
        assert '<html lang="de">' in page.text
        assert "Ihr Profil" in page.text


async def test_the_sign_in_pages_speak_the_browsers_language(portal: World) -> None:
    german = {"Accept-Language": "de"}
    async with browser(portal) as http:
        begun = await http.get("/portal/login")
        page = await http.get(begun.headers["location"], headers=german)
        assert '<html lang="de">' in page.text
        assert "E-Mail-Adresse" in page.text
        fields = {**hidden_fields(page.text), "email": ADA, "password": "wrong password"}
        refused = await http.post("/oauth/authorize", data=fields, headers=german)
        assert refused.status_code == 401
        assert "E-Mail-Adresse oder Passwort stimmen nicht." in refused.text
        assert 'aria-describedby="sign-in-error"' in refused.text


@pytest.mark.parametrize(
    ("path", "language", "heading"),
    [
        ("/portal/no-such-page", "en", "Page not found"),
        ("/portal/accounts/x/y/z", "en", "Page not found"),
        ("/console/no-such-page", "en", "Page not found"),
        ("/portal/no-such-page", "de", "Seite nicht gefunden"),
    ],
)
async def test_an_unknown_page_is_an_html_page_in_the_apps_layout(
    world: World, path: str, language: str, heading: str
) -> None:
    # A person followed a link: they get a page they can read, with the pages' headers.
    page = await world.http.get(path, headers={"Accept-Language": language})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert f"<h1>{heading}</h1>" in page.text
    assert f'<html lang="{language}"' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "'nonce-" in policy
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/v1/no-such-route", "/oauth/no-such-route", "/portalish"])
async def test_an_unknown_route_outside_the_pages_is_still_a_problem(
    world: World, path: str
) -> None:
    response = await world.http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
