"""The pages' languages: English and German, from committed gettext catalogues.

The `.po` files under `api/web/locale/` are the source; they are compiled in memory
(Babel's reader and writer) the first time a language is used, so no compiled `.mo` file is
built, committed or shipped. The language is the signed-in person's profile language when
the pages know it, else the best match of the browser's Accept-Language, else English.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "de")
"""What the pages speak; English is the source language of every message."""


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English and unknown ones: the messages as written)."""
    source = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not source.is_file():
        return gettext.NullTranslations()
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _base(tag: str) -> str | None:
    try:
        return Locale.parse(tag.strip().replace("-", "_")).language
    except (ValueError, UnknownLocaleError):
        return None


def choose_language(profile_language: str | None, accept_language: str | None) -> str:
    """The profile's language when the pages speak it, else the browser's best supported
    choice (q-values honoured), else English."""
    if profile_language:
        base = _base(profile_language)
        if base in LANGUAGES:
            return base
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        base = _base(tag) if tag.strip() and tag.strip() != "*" else None
        if base in LANGUAGES and quality > 0:
            weighted.append((-quality, position, base))
    return sorted(weighted)[0][2] if weighted else DEFAULT_LANGUAGE
