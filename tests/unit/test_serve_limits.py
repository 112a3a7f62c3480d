"""`custodian serve --workers N` divides the per-client rate limits among its processes."""

from __future__ import annotations

import pytest

from api.cli.main import per_process_limits
from api.settings import Settings, load_settings
from persistence.crypto import MasterKey


def _settings(api: str, token: str) -> Settings:
    return load_settings(
        {
            "CUSTODIAN_ENV": "development",
            "CUSTODIAN_MASTER_KEY": MasterKey.generate().to_base64(),
            "CUSTODIAN_RATE_LIMIT": api,
            "CUSTODIAN_TOKEN_RATE_LIMIT": token,
        }
    )


@pytest.mark.parametrize(
    ("workers", "api", "token", "expected"),
    [
        (1, "600", "60", {}),
        (2, "600", "60", {"CUSTODIAN_RATE_LIMIT": "300", "CUSTODIAN_TOKEN_RATE_LIMIT": "30"}),
        (7, "600", "60", {"CUSTODIAN_RATE_LIMIT": "85", "CUSTODIAN_TOKEN_RATE_LIMIT": "8"}),
        (4, "0", "3", {"CUSTODIAN_RATE_LIMIT": "0", "CUSTODIAN_TOKEN_RATE_LIMIT": "1"}),
    ],
)
def test_each_process_enforces_its_share_and_never_more_than_the_limit_in_total(
    workers: int, api: str, token: str, expected: dict[str, str]
) -> None:
    limits = per_process_limits(_settings(api, token), workers)
    assert limits == expected
    for name, configured in (("CUSTODIAN_RATE_LIMIT", api), ("CUSTODIAN_TOKEN_RATE_LIMIT", token)):
        share = int(limits.get(name, configured))
        # Off stays off; a limit of at least one request per process otherwise.
        assert share == 0 if configured == "0" else share >= 1
        if int(configured) >= workers:
            assert share * workers <= int(configured)
