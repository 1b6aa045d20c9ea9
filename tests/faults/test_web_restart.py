"""The web process killed in the middle of a tus upload, then started again."""

from __future__ import annotations

import hashlib
import io
import os
import socket
from urllib.parse import urlsplit

import pytest
import requests
from tusclient import client as tus_client

from interview.media import chunks
from interview.media.storage import get_storage
from interview.models import AssetKind, TakeStatus

from .conftest import TUS, filed, tus_meta, wait_until

pytestmark = pytest.mark.slow


def test_upload_resumes_byte_identical_after_the_web_process_is_killed(app, org, web_server):
    """gunicorn is SIGKILLed while a PATCH body is streaming in. After a restart, does HEAD
    answer the last acknowledged offset, and does a standard tus client resume from it to a
    stored file identical to what the candidate recorded?"""
    web_server.start()
    data = os.urandom(3_000_000)
    base = f"{web_server.url}/i/{org.token}/api"
    session = requests.Session()
    assert session.post(f"{base}/questions/0/reveal", timeout=10).status_code == 200
    created = session.post(
        f"{base}/questions/0/uploads",
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": tus_meta(filetype="video/webm"),
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    path = urlsplit(created.headers["Location"]).path
    url = f"{web_server.url}{path}"
    first = session.patch(
        url,
        data=data[:1_000_000],
        headers={
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=10,
    )
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "1000000"
    take_id = int(path.rsplit("/", 1)[1])
    # The second chunk: half its body is sent, then the server dies while reading the rest.
    with socket.create_connection(("127.0.0.1", web_server.port)) as raw:
        raw.sendall(
            (
                f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{web_server.port}\r\n"
                "Tus-Resumable: 1.0.0\r\nUpload-Offset: 1000000\r\n"
                "Content-Type: application/offset+octet-stream\r\n"
                "Content-Length: 1000000\r\n\r\n"
            ).encode()
            + data[1_000_000:1_500_000]
        )
        # Killed while that body streams in (the server still answers other requests).
        wait_until(
            lambda: requests.head(url, headers=TUS, timeout=5).status_code == 200,
            20,
            "the server to answer beside the PATCH in flight",
        )
        web_server.kill()
    web_server.start()
    head = requests.head(url, headers=TUS, timeout=10)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "1000000"  # only what was acknowledged
    assert head.headers["Upload-Length"] == str(len(data))
    # A standard tus client picks the upload up from its URL: HEAD, then PATCHes.
    uploader = tus_client.TusClient(f"{base}/questions/0/uploads").uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=512 * 1024
    )
    assert uploader.offset == 1_000_000
    uploader.upload()
    take = filed(take_id)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        assert stored.read() == data
    assert chunks.chunks_of(take_id) == []
