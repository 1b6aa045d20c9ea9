"""tus 1.0 as the protocol says it: versions, extensions, the headers' grammar and the error a
refused request carries. What an upload *is* (state, claims, chunks) is ``uploads``."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from email.utils import format_datetime

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = (
    "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration"
)
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
TUS_CHECKSUM_ALGORITHMS = ",".join(CHECKSUM_ALGORITHMS)
TUS_EXPOSED = (
    "Location, Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Expires, "
    "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, Retry-After"
)
TUS_REQUEST_HEADERS = (
    "Tus-Resumable, Upload-Length, Upload-Defer-Length, Upload-Offset, Upload-Metadata, "
    "Upload-Checksum, Upload-Concat, Content-Type, X-HTTP-Method-Override, X-Requested-With"
)


class TusError(Exception):
    """A tus request refused with an HTTP status and a message for the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        retry_after: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds, for a refusal the client should retry later
        self.offset = offset  # the true offset, for a 409 (and whatever else knows it)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated "key base64value" pairs."""
    result: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            result[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError) as error:
            raise TusError(400, f"Upload-Metadata value for {key!r} is not base64") from error
    return result


def parse_length(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise TusError(400, f"{name} must be a non-negative integer")
    return int(value)


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: "<algorithm> <base64 digest>" (tus checksum extension)."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise TusError(400, f"checksum algorithm {algorithm!r} is not supported")
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as error:
        raise TusError(400, "Upload-Checksum digest is not base64") from error


def tus_headers(extra: dict | None = None) -> dict:
    """What every tus answer carries (its protocol version, never cached), plus ``extra``."""
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **(extra or {})}


def refusal_headers(error: TusError) -> dict:
    """A refused tus request's headers: the offset when it is known (409 always), when to
    come back."""
    headers = tus_headers()
    if error.offset is not None:
        headers["Upload-Offset"] = str(error.offset)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return headers


def cors_headers(
    origin: str | None, path: str, method: str, allowed: list[str] | tuple[str, ...]
) -> list[tuple[str, str]]:
    """What the candidate API answers a cross-origin call from an allowed origin (the recorder
    embedded in another site, UPLOAD_CORS_ORIGINS); nothing for anybody else."""
    if not origin or "/api/" not in path or not (origin in allowed or "*" in allowed):
        return []
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Vary", "Origin"),
        ("Access-Control-Expose-Headers", TUS_EXPOSED),
    ]
    if method == "OPTIONS":
        headers += [
            ("Access-Control-Allow-Methods", "GET, POST, HEAD, PATCH, DELETE, OPTIONS"),
            ("Access-Control-Allow-Headers", TUS_REQUEST_HEADERS),
            ("Access-Control-Max-Age", "86400"),
        ]
    return headers


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)
