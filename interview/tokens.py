"""Candidate link tokens: derived with a server key, stored only as a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

NONCE_BYTES = 16  # 128 bits of randomness per link


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def link_token(key: str, invitation_id: int, nonce: str) -> str:
    """The secret in a candidate's link: HMAC-SHA256(key, id:nonce), URL-safe (43 chars).

    It can be rebuilt by the server (to resend an email or show the link again) but not from a
    copy of the database, which holds only the nonce and the token's hash.
    """
    digest = hmac.new(
        key.encode(), f"invitation:{invitation_id}:{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def data_link_token(key: str, invitation_id: int, nonce: str) -> str:
    """The secret in a candidate's "your data" link: like ``link_token``, another purpose."""
    digest = hmac.new(
        key.encode(), f"data-link:{invitation_id}:{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before any database work."""
    return len(token) == 43 and all(c.isalnum() or c in "-_" for c in token)


def signing_key(secret_key: str, configured: str | None = None) -> str:
    """The key for link tokens: INVITATION_TOKEN_KEY if set, else derived from SECRET_KEY."""
    if configured:
        return configured
    return hmac.new(secret_key.encode(), b"invitation-links", hashlib.sha256).hexdigest()
