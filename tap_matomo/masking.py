"""Secrets masked out of every text the tap shows (errors, log lines), whatever the input.

The secret settings are those the schema marks secret (`token_auth`), plus a password or a token
written into `url`.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tap_matomo.settings_schema import CONFIG_SCHEMA

#: The settings the schema marks secret (`token_auth`).
SECRET_SETTINGS = tuple(
    name for name, prop in CONFIG_SCHEMA.to_dict()["properties"].items() if prop.get("secret")
)


def secret_values(config: dict[str, Any]) -> list[str]:
    """Every secret text of a config, longest first (so that no part of one is left).

    The secret settings' values (whatever their type, so that a token given as a list is
    masked too) and the password or token written into `url`, raw and URL-encoded.
    """
    found: list[str] = []

    def leaves(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                leaves(item)
        elif isinstance(value, list | tuple):
            for item in value:
                leaves(item)
        elif value is not None and not isinstance(value, bool):
            found.append(str(value))

    for name in SECRET_SETTINGS:
        leaves(config.get(name))
    url = config.get("url")
    if isinstance(url, str):
        with contextlib.suppress(ValueError):  # an unparseable URL is refused by check_settings
            parsed = urlsplit(url.strip())
            leaves(parsed.password)
            leaves(parse_qs(parsed.query).get("token_auth"))
    texts = {text for value in found for text in (value, value.strip()) if text.strip()}
    texts |= {quote(text, safe="") for text in texts}
    return sorted(texts, key=len, reverse=True)


def mask_secrets(text: str, config: dict[str, Any]) -> str:
    """The text with every secret of the config replaced by ``***``."""
    for secret in secret_values(config):
        text = text.replace(secret, "***")
    return text
