"""The sign-in, consent and error pages: plain HTML forms that work without JavaScript.

Every dynamic value is HTML-escaped. Inputs have visible labels tied by `for`/`id`; errors
are announced with role="alert".
"""

from __future__ import annotations

from html import escape

from domain.identity import ERASE_SCOPE, SCOPE_DESCRIPTIONS

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;"
    "padding:0 1rem;line-height:1.5}label{display:block;margin-top:1rem}"
    "input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}"
    "button{font-size:1rem;margin:1rem .5rem 0 0;padding:.5rem 1.2rem}"
    ".error{color:#a00;border:1px solid #a00;padding:.5rem}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - Custodian</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _hidden(params: list[tuple[str, str]]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params
    )


def login_page(
    client_name: str,
    params: list[tuple[str, str]],
    csrf: str,
    error: str | None = None,
    email: str = "",
) -> str:
    """The sign-in form; `params` are the authorization request's, carried along."""
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Sign in",
        (
            f"<p>Sign in to continue to <strong>{escape(client_name)}</strong>.</p>{alert}"
            '<form method="post" action="/oauth/authorize">'
            f'{_hidden(params)}<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
            '<label for="email">Email address</label>'
            f'<input id="email" name="email" type="email" autocomplete="username" required '
            f'value="{escape(email)}">'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" '
            'autocomplete="current-password" required>'
            '<button type="submit">Sign in</button></form>'
        ),
    )


ERASE_WARNING = (
    '<p class="error" role="alert"><strong>Warning:</strong> this lets the app erase your '
    "data. Erasure cannot be undone once it has run. You will be asked to confirm, and you "
    "can cancel during the grace period that follows.</p>"
)


def consent_page(
    client_name: str, scopes: list[str], params: list[tuple[str, str]], csrf: str, ticket: str
) -> str:
    """The consent screen: each requested scope in plain words, allow or deny."""
    items = "".join(
        f"<li>{escape(SCOPE_DESCRIPTIONS.get(s, s))} <small>({escape(s)})</small></li>"
        for s in scopes
    )
    warning = ERASE_WARNING if ERASE_SCOPE in scopes else ""
    return _page(
        "Allow access?",
        (
            f"<p><strong>{escape(client_name)}</strong> asks to:</p><ul>{items}</ul>{warning}"
            '<form method="post" action="/oauth/authorize">'
            f'{_hidden(params)}<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
            f'<input type="hidden" name="consent_ticket" value="{escape(ticket)}">'
            '<button type="submit" name="decision" value="allow">Allow</button>'
            '<button type="submit" name="decision" value="deny">Deny</button></form>'
        ),
    )


def error_page(message: str) -> str:
    """An error shown in place of a redirect (unknown client or redirect URI, bad form)."""
    return _page(
        "Something is not right",
        f'<p class="error" role="alert">{escape(message)}</p>'
        "<p>Go back to the app you came from and try again.</p>",
    )
