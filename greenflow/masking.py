"""Secrets out of what greenflow prints, logs and raises: one helper for URLs, text and conf dicts.

Every message that may echo a URL or an option mapping passes it through one of
these first, so ``postgresql://app:s3cret@db/x`` shows as
``postgresql://app:***@db/x`` and ``{"password": "s3cret"}`` as
``{"password": "***"}``. Imports nothing from greenflow: any layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MASK", "mask_conf", "mask_text", "mask_url"]

#: What a secret is replaced with.
MASK: Final = "***"

#: Option and query-parameter names whose values are secrets (matched case-insensitively, as substrings).
_SECRET_WORDS: Final = ("password", "passwd", "pwd", "secret", "token", "credential", "api_key", "apikey")

# ``scheme://user:password@`` anywhere in a text: the password is what lies between
# the first ':' after '//' and the last '@' before the host (passwords may hold '@').
_USERINFO: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*:)(?P<secret>[^\s'\"]*)@")
# ``password=...`` (or ``token=``, ...) in a query string or a ``key=value`` listing.
_ASSIGNED: Final = re.compile(
    r"(?P<head>(?:[?&;\s,(]|^)[A-Za-z0-9_\-]*(?:" + "|".join(_SECRET_WORDS) + r")[A-Za-z0-9_\-]*=)"
    r"(?P<secret>[^&;\s'\",)]*)",
    re.IGNORECASE,
)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and any(word in key.lower() for word in _SECRET_WORDS)


def mask_text(text: str) -> str:
    """``text`` with every URL password and every ``password=``-style value replaced by ``***``."""
    if "://" not in text and "=" not in text:
        return text
    masked = _USERINFO.sub(lambda m: m.group("head") + (MASK if m.group("secret") else "") + "@", text)
    return _ASSIGNED.sub(lambda m: m.group("head") + (MASK if m.group("secret") else ""), masked)


def mask_url(url: object) -> str:
    """A URL (or anything, shown with ``str``) with its password and secret query values masked."""
    return mask_text(url if isinstance(url, str) else str(url))


def mask_conf(conf: Any) -> Any:
    """A copy of an option mapping (nested mappings and lists too) with secret values masked.

    Values under a secret-looking key (``password``, ``token``, ...) become
    ``***``; strings elsewhere go through :func:`mask_text`.
    """
    if isinstance(conf, Mapping):
        return {
            key: (MASK if _is_secret_key(key) and value not in (None, "") else mask_conf(value))
            for key, value in conf.items()
        }
    if isinstance(conf, (list, tuple)):
        return type(conf)(mask_conf(value) for value in conf)
    if isinstance(conf, str):
        return mask_text(conf)
    return conf
