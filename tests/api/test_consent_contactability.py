"""The marketing send-eligibility check: current consent and restriction decide, and every
check shows up in the customer's access log."""

from __future__ import annotations

from oauth_harness import CONSOLE_REDIRECT, World
from sqlalchemy import update

from domain.identity import StaffRole
from persistence.customer.tables import CustomerRow


async def _bearer(world: World, email: str, **kwargs: str) -> dict[str, str]:
    tokens = await world.tokens_for(email, **kwargs)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_contactable_only_with_consent_and_while_active(world: World) -> None:
    ada = await world.add_customer("ada@example.com")
    customer = await _bearer(world, "ada@example.com", scope="consents:write access-log:read")
    await world.add_staff("officer@example.com", StaffRole.PRIVACY_OFFICER)
    officer = await _bearer(
        world,
        "officer@example.com",
        client_id="privacy-console",
        scope="dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    url = f"/v1/privacy/customers/{ada}/contactability"

    async def check(channel: str) -> dict[str, object]:
        response = await world.http.get(url, headers=officer, params={"channel": channel})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    assert (await check("email"))["contactable"] is False
    await world.http.put(
        "/v1/me/consents/marketing_email",
        headers=customer,
        json={"granted": True, "notice_version": "1"},
    )
    email = await check("email")
    assert email["contactable"] is True
    assert email["consented_notice_version"] == "1"
    assert email["outdated_notice"] is False
    assert (await check("sms"))["contactable"] is False  # consent is per channel
    async with world.engine.begin() as connection:
        await connection.execute(
            update(CustomerRow).where(CustomerRow.id == ada).values(status="restricted")
        )
    restricted = await check("email")
    assert restricted["contactable"] is False
    assert restricted["reasons"] == ["customer is restricted"]

    log = (await world.http.get("/v1/me/access-log", headers=customer)).json()["items"]
    checks = [e for e in log if e["action"] == "check_contactability"]
    assert len(checks) == 4
    assert checks[0]["actor"]["role"] == "privacy_officer"


async def test_unknown_customer_or_channel(world: World) -> None:
    await world.add_staff("officer@example.com", StaffRole.PRIVACY_OFFICER)
    officer = await _bearer(
        world,
        "officer@example.com",
        client_id="privacy-console",
        scope="dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    missing = "/v1/privacy/customers/00000000-0000-0000-0000-000000000001/contactability"
    assert (
        await world.http.get(missing, headers=officer, params={"channel": "email"})
    ).status_code == 404
    assert (
        await world.http.get(missing, headers=officer, params={"channel": "pigeon"})
    ).status_code == 400
