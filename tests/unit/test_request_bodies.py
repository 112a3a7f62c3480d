"""A member named twice in any object of a JSON body is found, whichever way the body is
written; a body without one passes (most of them through the cheap count alone)."""

from __future__ import annotations

import msgspec
import pytest

from api.request_bodies import named_twice


def _named_twice(text: str) -> str | None:
    body = text.encode()
    return named_twice(body, msgspec.json.decode(body))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{"a": 1, "a": 2}', "a"),
        ('{"a": 1, "b": {"c": 1, "c": 1}}', "c"),
        ('[{"a": 1}, {"b": [{"d": "x:y", "d": "z"}]}]', "d"),
        ('{"a": {"x": 1}, "a": {"x": 1}}', "a"),
        # A colon hidden in an escape must not make up for the member that was lost.
        ('{"a": 1, "a": 2, "b": "\\u003a"}', "a"),
        ('{"a": 1, "\\u0061": 2}', "a"),
    ],
)
def test_a_member_named_twice_is_found(text: str, name: str) -> None:
    assert _named_twice(text) == name


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "[]",
        '{"granted": true, "notice_version": "1"}',
        '{"quiet_hours": {"start": "22:00", "end": "07:00"}, "start": "x"}',
        '[{"a": 1}, {"a": 2}]',
        '{"a": {"a": {"a": 1}}}',
        '{"a": "\\u003a", "b": "C:\\\\users"}',
    ],
)
def test_distinct_names_pass(text: str) -> None:
    assert _named_twice(text) is None
