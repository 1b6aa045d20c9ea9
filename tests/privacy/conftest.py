"""Privacy fixtures: a candidate with something stored in every place the product keeps data,
and scanners that look for them in the storage root, the S3 bucket and a full database dump."""

from __future__ import annotations

import hashlib
import io
import secrets
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from interview import audit, mail
from interview.extensions import db
from interview.media.services import work_dir
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    Comment,
    Decision,
    Recommendation,
    Report,
    ReportKind,
    ReportStatus,
    Role,
    Take,
    TakeStatus,
    UploadChunk,
    utcnow,
)
from interview.privacy import requests

from .. import factories
from ..media.test_storage import BUCKET, s3_app  # noqa: F401 (fixtures; s3_endpoint is in tests/conftest.py)

NAME = "Zenobia Quillfeather"
EMAIL = "zenobia.quill@example.org"
IP = "203.0.113.77"


@dataclass
class Rich:
    """A candidate with data everywhere, and what must never be found after their purge."""

    invitation_id: int
    data_token: str
    org_id: int
    secrets: list[bytes] = field(default_factory=list)  # name, email, IP, SHA-256s, free text
    keys: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


def rich_candidate(o: factories.OrgWithStaff, name: str = NAME, email: str = EMAIL) -> Rich:
    """Answers processed (original, MP4, poster, waveform), a review with a note, a comment,
    a decision note, a candidate report and a screening report naming them, an invitation email
    in the outbox, a partial upload in staging, a killed worker's folder, audit events with
    their IP and checksum."""
    inv = factories.completed_candidate(o.screening, name, email)
    inv.consent_ip = IP
    rich = Rich(inv.id, "", o.org.id)
    rich.secrets += [name.encode(), email.encode(), IP.encode()]
    storage = get_storage()
    for question in inv.questions:
        take = question.response.take
        original = f"original bytes of {secrets.token_hex(8)}".encode()
        digest = hashlib.sha256(original).hexdigest()
        rich.secrets += [digest.encode(), original]
        take.checksum_sha256 = digest
        take.content_type = "video/webm"
        take.media_summary = {"waveform": [0.1, 0.5, 0.9]}
        for kind, data, ctype in (
            (AssetKind.ORIGINAL, original, "video/webm"),
            (AssetKind.MP4, b"mp4 of " + original, "video/mp4"),
            (AssetKind.POSTER, b"\xff\xd8 poster " + original, "image/jpeg"),
        ):
            asset = factories.stored_asset(take, kind, data, ctype)
            rich.keys.append(asset.storage_key)
        audit.record(
            "take.uploaded", inv, actor_label="candidate", take_id=take.id, sha256=digest
        ).ip = IP
    audit.record("invitation.started", inv, actor_label="candidate", consent_ip=IP).ip = IP
    # A retake still uploading: its acknowledged chunk sits in storage.
    scored_question = inv.questions[1]
    stray = Take(question=scored_question, attempt=2, status=TakeStatus.RECORDING)
    db.session.add(stray)
    db.session.flush()
    chunk_key = f"orgs/{o.org.id}/uploads/{stray.id}/0-{secrets.token_hex(4)}"
    data = b"partial upload of " + name.encode()
    storage.save(chunk_key, io.BytesIO(data))
    db.session.add(UploadChunk(take_id=stray.id, offset=0, length=len(data), storage_key=chunk_key))
    stray.bytes_received = len(data)
    rich.keys.append(chunk_key)
    # A media worker killed while processing one of their answers left its work folder.
    work = Path(
        tempfile.mkdtemp(prefix=f"take-{scored_question.response.take_id}-", dir=work_dir())
    )
    (work / "frame.txt").write_bytes(name.encode())
    rich.paths.append(work)
    # Reviewers' words and numbers.
    reviewer = o.users[Role.REVIEWER]
    review = factories.scored_review(inv, reviewer, [[4]], note=f"{name} was clear")
    db.session.add(
        Comment(
            review_id=review.id,
            response_id=scored_question.response.id,
            at_ms=1500,
            body=f"Great example from {name.split()[0]}",
        )
    )
    db.session.add(
        Decision(invitation_id=inv.id, outcome=Recommendation.ADVANCE, note=f"Call {name}")
    )
    rich.secrets += [b"was clear", b"Great example from", f"Call {name}".encode()]
    # Reports that name them.
    for kind, invitation_id in (
        (ReportKind.CANDIDATE_PDF, inv.id),
        (ReportKind.SCREENING_CSV, None),
    ):
        key = f"orgs/{o.org.id}/reports/{secrets.token_hex(4)}/{kind.value}.bin"
        size = storage.save(key, io.BytesIO(f"report about {name} <{email}>".encode()))
        db.session.add(
            Report(
                org_id=o.org.id,
                screening_id=o.screening.id,
                invitation_id=invitation_id,
                kind=kind,
                status=ReportStatus.READY,
                storage_key=key,
                size_bytes=size,
                finished_at=utcnow(),
            )
        )
        rich.keys.append(key)
    db.session.commit()
    # Their invitation email in the outbox, and their data link (a receipt).
    mail.backend_from_config(current_app.config).send(
        mail.Message(to=f"{name} <{email}>", subject="Your interview", text=name, html=name)
    )
    rich.data_token = requests.data_token(inv)
    requests.record_export(inv)
    return rich


# --- scanners --------------------------------------------------------------------------------


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def bucket_objects(endpoint: str) -> dict[str, bytes]:
    import boto3  # noqa: PLC0415 (only the S3 tests need it)

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    found = {}
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        found[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return found


def database_dump() -> str:
    """Every value in the database as text: SQLite's iterdump, or on PostgreSQL every column of
    every table cast to text."""
    db.session.commit()
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as conn:
            return "\n".join(conn.iterdump())
    parts = []
    with db.engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public'"
            )
        ).all()
        for table, column in tables:
            # Names come from the catalogue, not from input.
            query = f'SELECT "{column}"::text FROM "{table}"'  # noqa: S608
            values = conn.execute(sa.text(query)).scalars()
            parts.extend(v for v in values if v is not None)
    return "\n".join(parts)


def found_in(haystacks: dict[str, bytes] | str, needles: list[bytes]) -> list[tuple[str, bytes]]:
    """Which needle appears where (empty when none does)."""
    if isinstance(haystacks, str):
        haystacks = {"database": haystacks.encode()}
    hits = []
    for where, data in haystacks.items():
        lowered = data.lower()
        for needle in needles:
            if needle.lower() in lowered:
                hits.append((where, needle))
    return hits
