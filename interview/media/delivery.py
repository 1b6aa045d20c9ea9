"""Serving stored media to someone already authorised: through the app with HTTP Range,
ETag and private caching, or by a short-lived presigned URL on object storage; and the audit
event a viewing or download leaves. Pages, the API, share links and reports all serve through
here."""

from __future__ import annotations

import contextlib
import hashlib
import io
import mimetypes
from datetime import datetime
from typing import IO, Any

from flask import Response, current_app, redirect, request, send_file
from werkzeug.exceptions import NotFound, RequestedRangeNotSatisfiable

from .. import audit
from ..extensions import db
from ..models import AssetKind, MediaAsset
from .storage import NotStored, Storage, get_storage


class _OpenOnRead(io.RawIOBase):
    """A stored object opened only when the response body is first read or seeked, so a
    response that is never sent (HEAD, a client that hangs up) holds no open file. Object
    storage streams are not seekable: those are read into memory (only for files served
    through the app; answers on object storage are redirected to a presigned URL instead)."""

    def __init__(self, storage: Storage, key: str) -> None:
        super().__init__()
        self._storage = storage
        self._key = key
        self._file: IO[bytes] | None = None

    def _opened(self) -> IO[bytes]:
        if self._file is None:
            stream = self._storage.open(self._key)
            if not (hasattr(stream, "seekable") and stream.seekable()):
                with contextlib.closing(stream):
                    stream = io.BytesIO(stream.read())
            self._file = stream
        return self._file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._opened().read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._opened().read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._opened().seek(offset, whence)

    def tell(self) -> int:
        return self._opened().tell() if self._file is not None else 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


def send_stored(
    key: str,
    *,
    mimetype: str,
    download_name: str,
    as_attachment: bool,
    etag: str,
    last_modified: datetime | None,
    max_age: int | None = None,
) -> Response:
    """Serve a stored file through the app to someone already authorised: HTTP Range
    (206/416), ETag, Last-Modified, private caching (revalidated unless ``max_age``)."""
    storage: Storage = get_storage()
    try:
        size = storage.size(key)
    except NotStored as error:
        raise NotFound() from error
    response = send_file(
        _OpenOnRead(storage, key),
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name,
        conditional=False,
        etag=False,
    )
    response.set_etag(etag)
    response.last_modified = last_modified
    response.cache_control.private = True
    if max_age is None:
        response.cache_control.no_cache = True
    else:
        response.cache_control.max_age = max_age
    try:
        response.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    except RequestedRangeNotSatisfiable:
        response.close()
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
        response.headers["Accept-Ranges"] = "bytes"
    return response


def send_asset(asset: MediaAsset, *, as_attachment: bool = False) -> Response:
    """Serve one asset to someone already authorised (``send_stored``); for object storage, a
    redirect to a short-lived presigned URL instead, except captions: a <track> must come from
    the page's own origin, and they are small."""
    storage: Storage = get_storage()
    url = None
    if asset.kind != AssetKind.CAPTIONS:
        expires = current_app.config["MEDIA_URL_EXPIRES_SECONDS"]
        url = storage.presigned_url(asset.storage_key, expires)
    if url is not None:
        response = redirect(url, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    suffix = mimetypes.guess_extension(asset.content_type) or ""
    return send_stored(
        asset.storage_key,
        mimetype=asset.content_type,
        download_name=f"{asset.kind.value}-{asset.take_id or asset.id}{suffix}",
        as_attachment=as_attachment,
        etag=asset.checksum_sha256 or hashlib.sha256(asset.storage_key.encode()).hexdigest(),
        last_modified=asset.updated_at,
        max_age=3600,
    )


def serve_and_audit(asset: MediaAsset, *, as_attachment: bool = False, **details: Any) -> Response:
    """``send_asset``, and an audit event (``media.stream`` / ``media.download``) when a viewing
    or download starts (not for every seek). For pages, the API and share links alike."""
    response = send_asset(asset, as_attachment=as_attachment)
    started = request.method == "GET" and is_new_viewing(request.headers.get("Range"))
    if started and response.status_code in (200, 206, 302):
        audit.record(
            "media.download" if as_attachment else "media.stream",
            asset,
            kind=asset.kind.value,
            take_id=asset.take_id,
            **details,
        )
        db.session.commit()
    return response


def is_new_viewing(range_header: str | None) -> bool:
    """Does a request start a viewing or download (rather than continue one by seeking)?"""
    if not range_header:
        return True
    return range_header.replace(" ", "").lower().startswith("bytes=0-")
