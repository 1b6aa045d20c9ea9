"""Storage backends: local files, and S3 against moto's server on a loopback port."""

from __future__ import annotations

import io
import urllib.request

import boto3
import pytest

from interview.extensions import db
from interview.media import services
from interview.media.storage import (
    LocalStorage,
    NotStored,
    S3Storage,
    StorageError,
    get_storage,
    storage_from_config,
)
from interview.models import AssetKind, Role, TakeStatus

from .. import factories
from .conftest import reload

BUCKET = "interview-media"


@pytest.fixture
def s3_app(app, s3_endpoint, monkeypatch):
    """The app switched to S3 storage on the moto server, with a fresh bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    app.config.update(
        STORAGE_BACKEND="s3", S3_BUCKET=BUCKET, S3_ENDPOINT_URL=s3_endpoint, S3_REGION="us-east-1"
    )
    app.extensions.pop("media_storage", None)
    yield app
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    app.extensions.pop("media_storage", None)


def _exercise(storage, tmp_path) -> None:
    data = b"\x00\x01 some media bytes " * 1000
    assert storage.save("orgs/1/takes/2/a.bin", io.BytesIO(data)) == len(data)
    source = tmp_path / "upload.webm"
    source.write_bytes(data[::-1])
    assert storage.save_file("orgs/1/takes/2/b.webm", source) == len(data)
    assert storage.exists("orgs/1/takes/2/a.bin") and storage.size("orgs/1/takes/2/a.bin") == len(
        data
    )
    with storage.open("orgs/1/takes/2/a.bin") as stream:
        assert stream.read() == data
    with storage.local_copy("orgs/1/takes/2/b.webm") as path, open(path, "rb") as f:
        assert f.read() == data[::-1]
    storage.delete("orgs/1/takes/2/a.bin")
    storage.delete("orgs/1/takes/2/a.bin")  # deleting twice is fine
    assert not storage.exists("orgs/1/takes/2/a.bin")
    with pytest.raises(NotStored):
        storage.size("orgs/1/takes/2/a.bin")
    with pytest.raises(NotStored), storage.local_copy("orgs/1/takes/2/a.bin"):
        pass
    for bad in ("../etc/passwd", "/etc/passwd", "a/../../b", "a//b", ""):
        with pytest.raises(StorageError):
            storage.save(bad, io.BytesIO(b"x"))


def test_local_storage_keeps_files_under_its_root(tmp_path):
    storage = LocalStorage(tmp_path / "media")
    _exercise(storage, tmp_path)
    assert storage.presigned_url("orgs/1/takes/2/b.webm", 60) is None
    assert (tmp_path / "media" / "orgs/1/takes/2/b.webm").is_file()


def test_s3_storage_against_a_loopback_s3_server(s3_app, tmp_path):
    """Does S3Storage do everything LocalStorage does, and hand out working presigned URLs?"""
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    _exercise(storage, tmp_path)
    url = storage.presigned_url("orgs/1/takes/2/b.webm", 60)
    assert "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == (b"\x00\x01 some media bytes " * 1000)[::-1]


def test_backend_is_picked_by_configuration(tmp_path):
    assert isinstance(storage_from_config({"MEDIA_ROOT": str(tmp_path)}), LocalStorage)
    with pytest.raises(StorageError):
        storage_from_config({"STORAGE_BACKEND": "s3"})
    with pytest.raises(StorageError):
        storage_from_config({"STORAGE_BACKEND": "ftp"})


def test_take_is_processed_from_and_into_s3(s3_app, clips, uploaded_take, sign_in_as):
    """With S3 storage, is a take processed end to end and streamed by a presigned redirect?"""
    take = uploaded_take(clips["h264_opus.mkv"])
    assert services.process(take.id).status == "ready"
    take = reload(take)
    assert take.status == TakeStatus.READY
    storage = get_storage()
    mp4 = services.asset_of(take, AssetKind.MP4)
    assert storage.exists(mp4.storage_key) and storage.size(mp4.storage_key) == mp4.size_bytes
    factories.keep_as_answer(take)
    db.session.commit()
    response = sign_in_as(Role.REVIEWER).get(f"/media/assets/{mp4.id}")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "private, no-store"
    with urllib.request.urlopen(response.headers["Location"], timeout=5) as fetched:
        body = fetched.read()
    assert len(body) == mp4.size_bytes and body[4:8] == b"ftyp"
