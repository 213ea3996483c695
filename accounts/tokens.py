"""API tokens whose key is never stored: `token_create` returns the key once; the database keeps
only its digest. Keys look like `jt_<43 url-safe characters>` so that they are recognisable in a
leaked log or repository and cannot be mistaken for DRF's plain 40-hex tokens."""

import hashlib
import secrets

KEY_PREFIX = "jt_"
SHOWN_PREFIX_LENGTH = 10  # "jt_" + 7 characters: enough to tell tokens apart, useless to an attacker


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
