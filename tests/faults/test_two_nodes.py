"""Two web nodes behind a round-robin proxy: the production layout, started once for the module.

Two gunicorn nodes, each with its own local folder, behind HAProxy (round robin per request, no
sticky sessions), on the suite's database (SQLite file, or PostgreSQL with TEST_DATABASE_URL)
and S3 storage on moto's server. Nothing of an upload lives in one node, so any node serves any
request of any upload.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import boto3
import pytest
import requests
from tusclient import client as tus_client

from interview.extensions import db
from interview.media import chunks
from interview.media import services as media_services
from interview.media.storage import get_storage
from interview.models import AssetKind, Take, TakeStatus, utcnow

from .cluster import Cluster
from .conftest import TUS, filed, tus_meta, wait_until

pytestmark = pytest.mark.slow

BUCKET = "two-nodes"
SECRET = "two-nodes-secret-key"
AWS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture(scope="module")
def cluster(database_url, redis_url, s3_endpoint, tmp_path_factory) -> Iterator[Cluster]:
    os.environ.update(AWS)  # boto3 in this process reads them too (the tests' own app)
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=BUCKET
    )
    env = {
        **AWS,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
    }
    with Cluster(env, tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
def app_config(app_config, cluster, s3_endpoint) -> dict:
    """The test's own app: same database, key and bucket as the nodes."""
    return {
        **app_config,
        "SECRET_KEY": SECRET,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
    }


def _take(take_id: int) -> Take:
    db.session.expire_all()
    return db.session.get(Take, take_id)


def _create(base: str, length: int | None = None) -> str:
    """Reveal the first question and create an upload through the proxy; returns its URL."""
    assert requests.post(f"{base}/questions/0/reveal", timeout=10).status_code == 200
    size = {"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"}
    created = requests.post(
        f"{base}/questions/0/uploads",
        headers={**TUS, **size, "Upload-Metadata": tus_meta(filetype="video/webm")},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return urljoin(base, created.headers["Location"])


def _patch(url: str, data: bytes, offset: int, **headers) -> requests.Response:
    return requests.patch(
        url,
        data=data,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
        timeout=30,
    )


def _stored(take: Take) -> bytes:
    original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        return stored.read()


def test_a_standard_tus_client_through_the_proxy_finishes_byte_identical(app, org, cluster):
    """tuspy sends 64 KiB chunks with checksums through the round-robin proxy: both nodes take
    PATCHes of the one upload, and the original in S3 is the recording byte for byte."""
    base = f"{cluster.url}/i/{org.token}/api"
    requests.post(f"{base}/questions/0/reveal", timeout=10)
    data = os.urandom(640 * 1024 + 123)
    served_by: set[str] = set()
    uploader = tus_client.TusClient(f"{base}/questions/0/uploads").uploader(
        file_stream=io.BytesIO(data),
        chunk_size=64 * 1024,
        metadata={"filetype": "video/webm"},
        upload_checksum=True,  # tuspy sends Upload-Checksum (sha1) with every chunk
    )
    while uploader.offset < len(data):
        uploader.upload_chunk()
        served_by.add(uploader.request.response_headers.get("x-upstream", "?"))
    assert served_by == {"node0", "node1"}  # round robin: no node owns the upload
    take = filed(int(uploader.url.rsplit("/", 1)[1]))
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert _stored(take) == data
    assert chunks.chunks_of(take.id) == []


def test_a_node_killed_mid_patch_and_the_upload_continues_on_the_other(app, org, cluster):
    """A PATCH is streaming into node 0 when it is SIGKILLed. The proxy drops it from the
    rotation; HEAD through the proxy answers the last acknowledged offset and a tus client
    finishes the upload on node 1, byte for byte."""
    base = f"{cluster.url}/i/{org.token}/api"
    data = os.urandom(600_000)
    url = _create(base, len(data))
    assert _patch(url, data[:200_000], 0).status_code == 204
    victim = cluster.nodes[0]
    path = urlsplit(url).path
    try:
        with socket.create_connection(("127.0.0.1", victim.port)) as raw:
            raw.sendall(
                (
                    f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                    "Upload-Offset: 200000\r\nContent-Type: application/offset+octet-stream\r\n"
                    "Content-Length: 400000\r\n\r\n"
                ).encode()
                + data[200_000:350_000]
            )
            wait_until(
                lambda: requests.head(f"{victim.url}{path}", headers=TUS, timeout=5).ok,
                20,
                "node 0 to answer beside the PATCH in flight",
            )
            victim.kill()
        # Until its health check drops node 0 (500 ms), the proxy may still pick it: a client
        # sees a 502 then, and retries, as tus clients do.
        wait_until(
            lambda: all(requests.head(url, headers=TUS, timeout=5).ok for _ in range(2)),
            10,
            "the proxy to take node 0 out of the rotation",
        )
        head = requests.head(url, headers=TUS, timeout=10)
        assert head.status_code == 200 and head.headers["X-Upstream"] == "node1"
        assert head.headers["Upload-Offset"] == "200000"
        uploader = tus_client.TusClient(f"{base}/questions/0/uploads").uploader(
            file_stream=io.BytesIO(data), url=url, chunk_size=128 * 1024, retries=3
        )
        assert uploader.offset == 200_000
        uploader.upload()
        take = filed(int(url.rsplit("/", 1)[1]))
        assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
        assert _stored(take) == data
    finally:
        victim.start()  # back for the next test (same port)
        wait_until(
            lambda: {requests.get(f"{cluster.url}/login", timeout=5).headers["X-Upstream"]
                     for _ in range(4)} == {"node0", "node1"},
            20,
            "node 0 to rejoin the rotation",
        )  # fmt: skip


def test_two_nodes_racing_patches_at_one_offset_exactly_one_wins(app, org, cluster):
    """The same offset is PATCHed on both nodes at once with different bytes: exactly one is
    acknowledged, the other gets 409 with the true offset, and the stored answer holds the
    winner's bytes only. (Whether the loser read the offset before or after the winner's
    claim, the conditional UPDATE refuses it; the in-process test pins the first case.)"""
    base = f"{cluster.url}/i/{org.token}/api"
    url = _create(base, 200_000)
    path = urlsplit(url).path
    bodies = [b"\x01" * 200_000, b"\x02" * 200_000]
    sockets = []
    for node, body in zip(cluster.nodes, bodies, strict=True):
        raw = socket.create_connection(("127.0.0.1", node.port))
        raw.sendall(
            (
                f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                "Connection: close\r\nContent-Length: 200000\r\n\r\n"
            ).encode()
            + body[:-1]
        )
        sockets.append(raw)
    for raw, body in zip(sockets, bodies, strict=True):
        raw.sendall(body[-1:])  # both bodies complete at once
    answers = []
    for raw in sockets:
        raw.settimeout(30)
        response = b""
        while chunk := raw.recv(65536):
            response += chunk
        raw.close()
        answers.append(response.decode("latin-1"))
    statuses = sorted(answer.split(" ", 2)[1] for answer in answers)
    assert statuses == ["204", "409"], answers
    loser = next(answer for answer in answers if " 409 " in answer.split("\r\n", 1)[0])
    assert "Upload-Offset: 200000" in loser
    winner = bodies[0] if " 204 " in answers[0].split("\r\n", 1)[0] else bodies[1]
    take = filed(int(url.rsplit("/", 1)[1]))
    assert _stored(take) == winner


def test_a_checksum_mismatch_through_the_proxy_appends_nothing(app, org, cluster):
    """A corrupted chunk (its Upload-Checksum does not match) gets 460 from whichever node
    takes it; the offset, the chunk rows and the objects in S3 stay as they were."""
    base = f"{cluster.url}/i/{org.token}/api"
    url = _create(base)
    take_id = int(url.rsplit("/", 1)[1])
    first = os.urandom(50_000)
    digest = base64.b64encode(hashlib.sha256(first).digest()).decode()
    assert _patch(url, first, 0, **{"Upload-Checksum": f"sha256 {digest}"}).status_code == 204
    s3 = boto3.client("s3", endpoint_url=app.config["S3_ENDPOINT_URL"], region_name="us-east-1")

    def objects() -> int:
        prefix = chunks.chunk_key(org.org.id, take_id, 0).split("/upload/")[0] + "/upload/"
        return s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount", 0)

    assert objects() == 1
    for _ in range(2):  # one on each node
        refused = _patch(url, b"x" * 1000, 50_000, **{"Upload-Checksum": f"sha256 {digest}"})
        assert refused.status_code == 460 and refused.headers["Tus-Resumable"] == "1.0.0"
    assert requests.head(url, headers=TUS, timeout=10).headers["Upload-Offset"] == "50000"
    assert [c.length for c in chunks.chunks_of(take_id)] == [50_000]
    assert objects() == 1


def test_expired_uploads_are_swept_from_s3(app, org, cluster):
    """An upload abandoned past its Upload-Expires, its chunks on S3: the sweep closes it with
    every byte that arrived, a worker assembles them into the original, and the chunk objects
    go; the upload no longer takes bytes."""
    base = f"{cluster.url}/i/{org.token}/api"
    url = _create(base)
    take_id = int(url.rsplit("/", 1)[1])
    data = os.urandom(60_000)
    assert _patch(url, data[:30_000], 0).status_code == 204
    assert _patch(url, data[30_000:], 30_000).status_code == 204
    keys = [c.storage_key for c in chunks.chunks_of(take_id)]
    assert len(keys) == 2 and all(get_storage().exists(key) for key in keys)
    take = _take(take_id)
    take.upload_expires_at = utcnow()
    db.session.commit()
    assert chunks.sweep_abandoned_uploads() == 0
    assert _take(take_id).status == TakeStatus.UPLOADED
    chunks.assemble_pending(take_id)  # what the media worker does first
    original = media_services.asset_of(_take(take_id), AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        assert stored.read() == data
    assert not any(get_storage().exists(key) for key in keys)
    assert _patch(url, b"more", 60_000).status_code in (403, 404, 409, 410)
