"""A disk that fills up while a chunk is written: a retryable answer, nothing torn kept.

The disk is simulated: ``uploads.write_all`` is replaced by one that writes the bytes that
still fit (with the real ``os.write``) and then fails with ENOSPC, as a full filesystem
does. Making a small real filesystem needs mount privileges this machine's tests do not use.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os

import pytest
import requests
from tusclient import client as tus_client

from interview.candidate import uploads
from interview.extensions import db
from interview.media import services as media_services
from interview.media.storage import get_storage
from interview.models import AssetKind, MediaAsset, Take, TakeStatus

from .conftest import TUS, tus_meta


class FullDisk:
    """``room`` bytes left on the staging disk; None means plenty."""

    def __init__(self) -> None:
        self.room: int | None = None
        self.refusals = 0
        self.frees_up_after: int | None = None  # refusals, then someone cleans the disk

    def write_all(self, fd: int, data: bytes) -> None:
        if self.frees_up_after is not None and self.refusals >= self.frees_up_after:
            self.room = None
        if self.room is None:
            return REAL_WRITE_ALL(fd, data)
        fits = min(self.room, len(data))
        if fits:
            os.write(fd, data[:fits])  # a torn block: part of it reached the disk
            self.room -= fits
        if fits < len(data):
            self.refusals += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return None


REAL_WRITE_ALL = uploads.write_all


@pytest.fixture
def disk(monkeypatch) -> FullDisk:
    full = FullDisk()
    monkeypatch.setattr(uploads, "write_all", full.write_all)
    return full


def _take(take_id: int) -> Take:
    db.session.expire_all()
    return db.session.get(Take, take_id)


def _start(client, token: str) -> str:
    base = f"/i/{token}/api"
    assert client.post(f"{base}/questions/0/reveal").status_code == 200
    created = client.post(
        f"{base}/questions/0/uploads",
        headers={
            **TUS,
            "Upload-Defer-Length": "1",
            "Upload-Metadata": tus_meta(filetype="video/webm"),
        },
    )
    assert created.status_code == 201
    return created.headers["Location"]


def _patch(client, url: str, data: bytes, offset: int, **headers):
    return client.patch(
        url,
        data=data,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )


def test_a_full_disk_answers_507_with_retry_after_and_keeps_only_whole_blocks(
    app, client, org, disk
):
    """The disk fills up in the middle of a chunk: does the client get a retryable 507 with
    Retry-After, an offset that counts only bytes really on disk, no torn bytes in staging,
    and does the upload resume and complete byte for byte once space is back?"""
    data = os.urandom(900_000)
    url = _start(client, org.token)
    take_id = int(url.rsplit("/", 1)[1])
    assert _patch(client, url, data[:100_000], 0).status_code == 204
    disk.room = uploads.CHUNK + 1000  # one whole block fits, the next one tears
    refused = _patch(client, url, data[100_000:700_000], 100_000)
    assert refused.status_code == 507, refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Tus-Resumable"] == "1.0.0"
    head = client.head(url, headers=TUS)
    offset = int(head.headers["Upload-Offset"])
    assert offset == 100_000 + uploads.CHUNK  # the whole block, not the torn one
    staged = uploads.staging_path(_take(take_id))
    assert staged.stat().st_size == offset  # nothing past the acknowledged offset
    assert staged.read_bytes() == data[:offset]
    take = _take(take_id)
    assert take.status == TakeStatus.RECORDING and take.checksum_sha256 is None
    # Still full: refused again, nothing changes.
    disk.room = 0
    assert _patch(client, url, data[offset:], offset).status_code == 507
    assert int(client.head(url, headers=TUS).headers["Upload-Offset"]) == offset
    # Space is back: the client resumes from HEAD and finishes.
    disk.room = None
    done = _patch(client, url, data[offset:], offset, **{"Upload-Length": str(len(data))})
    assert done.status_code == 204
    take = _take(take_id)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        assert stored.read() == data
    assert not staged.exists()


def test_a_failing_fsync_acknowledges_nothing_of_the_chunk(app, client, org, monkeypatch):
    """If the disk fails at fsync, are the chunk's bytes left unacknowledged (507), so the
    client sends them again rather than trusting bytes that may not be on disk?"""
    url = _start(client, org.token)
    take_id = int(url.rsplit("/", 1)[1])
    assert _patch(client, url, b"a" * 1000, 0).status_code == 204
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(uploads.os, "fsync", failing_fsync)
    assert _patch(client, url, b"b" * 1000, 1000).status_code == 507
    monkeypatch.setattr(uploads.os, "fsync", real_fsync)
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "1000"
    assert uploads.staging_path(_take(take_id)).read_bytes() == b"a" * 1000


def test_full_media_storage_at_completion_answers_503_and_the_retry_files_it(
    app, client, org, monkeypatch
):
    """Every byte arrived but the media disk is full when the file is filed: is the answer a
    retryable 503, with no asset row and no processing queued, until a retry files it?"""
    url = _start(client, org.token)
    take_id = int(url.rsplit("/", 1)[1])
    storage_type = type(get_storage())
    real_save_file = storage_type.save_file

    def full(self, key, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage_type, "save_file", full)
    refused = _patch(client, url, b"whole answer", 0, **{"Upload-Length": "12"})
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
    assert _take(take_id).status == TakeStatus.RECORDING
    assert db.session.query(MediaAsset).filter_by(take_id=take_id).count() == 0
    monkeypatch.setattr(storage_type, "save_file", real_save_file)
    # tus clients retry the last PATCH (an empty one at the end) or HEAD: either completes it.
    assert _patch(client, url, b"", 12).status_code == 204
    take = _take(take_id)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(b"whole answer").hexdigest()
    assert media_services.asset_of(take, AssetKind.ORIGINAL) is not None


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
    take = _take(int(uploader.url.rsplit("/", 1)[1]))
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
