"""The pages' languages: every message has its German translation, with the same
placeholders, and the language follows the profile, then the browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from api.web.translations import choose_language, translations

ROOT = Path(__file__).resolve().parents[2]
METHODS = [
    ("api/web/templates/**.html", "jinja2"),
    ("api/web/**.py", "python"),
    ("api/portal/**.py", "python"),
    ("api/console/**.py", "python"),
]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _messages() -> set[str]:
    keywords = {"_": None, "N_": None, "gettext": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT / "api"), _relative(METHODS), keywords):
        if isinstance(message, str) and message:
            found.add(message)
    return found


def _relative(methods: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(pattern.removeprefix("api/"), kind) for pattern, kind in methods]


def test_every_message_of_the_pages_is_translated_into_german() -> None:
    german = translations("de")
    messages = _messages()
    assert len(messages) > 150
    missing = sorted(
        m
        for m in messages
        if german.gettext(m) == m and m not in {"Export", "Status", "Filter", "Version", "Details"}
    )
    assert missing == []
    for message in messages:
        assert set(PLACEHOLDER.findall(german.gettext(message))) == set(
            PLACEHOLDER.findall(message)
        ), message


@pytest.mark.parametrize(
    ("profile", "accept", "expected"),
    [
        ("de", "en-GB,en;q=0.9", "de"),
        ("de-AT", None, "de"),
        ("fr", "de-CH;q=0.8,en;q=0.5", "de"),
        (None, "fr, en;q=0.3, de;q=0.7", "de"),
        (None, "de;q=0, en", "en"),
        (None, "*", "en"),
        (None, "x-klingon;q=abc", "en"),
        (None, None, "en"),
    ],
)
def test_the_language_follows_the_profile_then_the_browser(
    profile: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(profile, accept) == expected


def test_messages_written_elsewhere_are_listed_for_the_catalogue() -> None:
    from api.oauth import authorize  # noqa: PLC0415
    from api.web.extra_messages import SIGN_IN_MESSAGES  # noqa: PLC0415
    from domain.identity import SCOPE_DESCRIPTIONS  # noqa: PLC0415

    assert set(SCOPE_DESCRIPTIONS.values()) <= set(SIGN_IN_MESSAGES)
    assert authorize.WRONG_CREDENTIALS in SIGN_IN_MESSAGES
