"""A disk that fills up while a chunk is written: a retryable answer, nothing torn kept.

The disk is simulated: the copy into the chunk's file (``shutil.copyfileobj`` in the local
storage backend) is replaced by one that writes the bytes that still fit and then fails with
ENOSPC, as a full filesystem does. Making a small real filesystem needs mount privileges this
machine's tests do not use.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil

import pytest
import requests
from tusclient import client as tus_client

from interview.extensions import db
from interview.media import chunks
from interview.media import storage as storage_module
from interview.media.storage import get_storage
from interview.models import AssetKind, Take, TakeStatus

from .conftest import TUS, filed, patch_chunk, start_upload

REAL_COPY = shutil.copyfileobj


class FullDisk:
    """``room`` bytes left on the media disk; None means plenty."""

    def __init__(self) -> None:
        self.room: int | None = None
        self.refusals = 0
        self.frees_up_after: int | None = None  # refusals, then someone cleans the disk

    def copyfileobj(self, source, target, length: int = 0) -> None:
        if self.frees_up_after is not None and self.refusals >= self.frees_up_after:
            self.room = None
        if self.room is None:
            return REAL_COPY(source, target, length or 1024 * 1024)
        data = source.read()
        fits = min(self.room, len(data))
        target.write(data[:fits])  # a torn write: part of it reached the disk
        self.room -= fits
        if fits < len(data):
            self.refusals += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return None


@pytest.fixture
def disk(monkeypatch) -> FullDisk:
    full = FullDisk()
    monkeypatch.setattr(storage_module.shutil, "copyfileobj", full.copyfileobj)
    return full


def _upload_files(app, take: Take) -> list[str]:
    folder = os.path.join(
        app.config["MEDIA_ROOT"], f"orgs/{take.question.invitation.org_id}/takes/{take.id}/upload"
    )
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def _take(take_id: int) -> Take:
    db.session.expire_all()
    return db.session.get(Take, take_id)


def test_a_full_disk_answers_507_with_retry_after_and_acknowledges_nothing_of_the_chunk(
    app, client, org, disk
):
    """The disk fills up in the middle of a chunk: does the client get a retryable 507 with
    Retry-After, an offset that does not count the chunk, no torn file left behind, and does
    the upload resume and complete byte for byte once space is back?"""
    data = os.urandom(900_000)
    url = start_upload(client, org.token)
    take_id = int(url.rsplit("/", 1)[1])
    assert patch_chunk(client, url, data[:100_000], 0).status_code == 204
    disk.room = 300_000  # part of the next chunk fits, then the disk is full
    refused = patch_chunk(client, url, data[100_000:700_000], 100_000)
    assert refused.status_code == 507, refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Tus-Resumable"] == "1.0.0"
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "100000"
    take = _take(take_id)
    assert take.status == TakeStatus.RECORDING and take.checksum_sha256 is None
    assert [c.length for c in chunks.chunks_of(take_id)] == [100_000]
    assert len(_upload_files(app, take)) == 1  # the torn file was removed
    # Still full: refused again, nothing changes.
    disk.room = 0
    assert patch_chunk(client, url, data[100_000:], 100_000).status_code == 507
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "100000"
    # Space is back: the client resumes from HEAD and finishes.
    disk.room = None
    done = patch_chunk(client, url, data[100_000:], 100_000, **{"Upload-Length": str(len(data))})
    assert done.status_code == 204
    take = _take(take_id)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        assert stored.read() == data
    assert _upload_files(app, take) == [] and chunks.chunks_of(take_id) == []


def test_a_failing_fsync_acknowledges_nothing_of_the_chunk(app, client, org, monkeypatch):
    """If the disk fails at fsync, are the chunk's bytes left unacknowledged (a retryable
    answer), so the client sends them again rather than trusting bytes that may not be on
    disk?"""
    url = start_upload(client, org.token)
    take_id = int(url.rsplit("/", 1)[1])
    assert patch_chunk(client, url, b"a" * 1000, 0).status_code == 204
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(storage_module.os, "fsync", failing_fsync)
    refused = patch_chunk(client, url, b"b" * 1000, 1000)
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
    monkeypatch.setattr(storage_module.os, "fsync", real_fsync)
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "1000"
    assert [c.length for c in chunks.chunks_of(take_id)] == [1000]
    assert len(_upload_files(app, _take(take_id))) == 1


def test_a_standard_tus_client_rides_out_a_full_disk(live_server, org, disk):
    """tuspy with retries: the disk is full for two attempts, then frees up. Does the upload
    finish on its own, byte for byte?"""
    requests.post(f"{live_server}/i/{org.token}/api/questions/0/reveal", timeout=10)
    data = os.urandom(600_000)
    disk.room = 150_000  # the first chunks fit, then the disk is full
    disk.frees_up_after = 2
    uploader = tus_client.TusClient(
        f"{live_server}/i/{org.token}/api/questions/0/uploads"
    ).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=100_000,
        metadata={"filetype": "video/webm"},
        retries=5,
        retry_delay=0.1,
    )
    uploader.upload()
    assert disk.refusals == 2
    take = filed(int(uploader.url.rsplit("/", 1)[1]))
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
