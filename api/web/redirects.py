"""The redirect that ends every form post and sign-in step of the pages: 303 See Other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from litestar import MediaType, Response
from litestar.datastructures import Cookie


def see_other(
    location: str,
    *,
    cookies: Sequence[Cookie] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    """A 303 to `location` (a path of this site, or the sign-in's authorize address) with an
    empty body, sent as the empty text it is: a browser follows it with a GET."""
    return Response(
        "",
        status_code=303,
        media_type=MediaType.TEXT,
        headers={"Location": location, **(headers or {})},
        cookies=list(cookies or ()),
    )
