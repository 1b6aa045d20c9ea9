"""The purge removes every file and every personal field about a candidate, and nothing else;
an interrupted purge is finished by the next run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from interview.extensions import db
from interview.media.storage import StorageError, get_storage
from interview.models import (
    AuditEvent,
    Comment,
    Invitation,
    MediaAsset,
    PurgeItem,
    Report,
    Review,
    Role,
    Score,
)
from interview.privacy import purge, services

from .conftest import (
    EMAIL,
    NAME,
    bucket_objects,
    database_dump,
    files_under,
    found_in,
    rich_candidate,
)


def _assert_gone(rich, storage_files: dict[str, bytes]) -> None:
    assert found_in(storage_files, rich.secrets) == []
    assert found_in(database_dump(), rich.secrets) == []
    assert not any(p.exists() for p in rich.paths)
    storage = get_storage()
    assert not any(storage.exists(k) for k in rich.keys)
    assert db.session.scalar(sa.select(sa.func.count(PurgeItem.id))) == 0


def test_purge_leaves_nothing_of_the_candidate_anywhere(app, org, sign_in_as, caplog):
    """After a purge, does the storage root, the outbox or a database dump still hold the
    candidate's name, email, IP, any original's SHA-256, or reviewers' words about them?"""
    rich = rich_candidate(org)
    instance = Path(current_app.instance_path)
    assert found_in(files_under(instance), [NAME.encode()])  # the scan does see them before
    assert found_in(database_dump(), [EMAIL.encode()])
    other_keys = list(db.session.scalars(sa.select(MediaAsset.storage_key)))
    caplog.set_level(logging.DEBUG)

    report = purge.purge(
        [rich.invitation_id], reason="test", actor=org.users[Role.ADMIN], source="staff"
    )

    assert report.purged == [rich.invitation_id] and report.files_failed == 0
    _assert_gone(rich, files_under(instance))
    assert NAME not in caplog.text and EMAIL not in caplog.text
    # Everyone else's data is untouched: the other candidates and their files.
    assert all(get_storage().exists(k) for k in other_keys if k not in rich.keys)
    robin = db.session.get(Invitation, org.completed.id)
    assert robin.candidate_name == "Robin Reviewed" and robin.deleted_at is None
    # The row stays as "Deleted candidate", with anonymous scores (the default setting).
    gone = db.session.get(Invitation, rich.invitation_id)
    assert gone.candidate_name == "Deleted candidate" and gone.deleted_at is not None
    review = db.session.scalar(sa.select(Review).where(Review.invitation_id == gone.id))
    assert review.note == "" and review.recommendation is not None
    assert db.session.scalar(sa.select(sa.func.count(Score.id)).where(Score.review_id == review.id))
    assert not db.session.scalar(sa.select(Comment.id).where(Comment.review_id == review.id))
    # The audit log says a deletion happened, by whom and why.
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "candidate.deleted"))
    assert event.object_id == gone.id and event.actor_id == org.users[Role.ADMIN].id
    assert event.details["reason"] == "test"
    # Pages show "Deleted candidate".
    page = sign_in_as(Role.RECRUITER).get(f"/screenings/{org.screening.id}/invitations/{gone.id}")
    assert page.status_code == 200 and "Deleted candidate" in page.get_data(as_text=True)
    # A second purge is a no-op.
    assert purge.purge([gone.id], reason="again").purged == []


def test_purge_in_s3_leaves_nothing_in_the_bucket(s3_app, s3_endpoint, org):
    """The same with S3 storage (moto's server): no object about them remains in the bucket."""
    rich = rich_candidate(org)
    assert found_in(bucket_objects(s3_endpoint), [NAME.encode()])
    purge.purge([rich.invitation_id], reason="test")
    objects = bucket_objects(s3_endpoint)
    assert objects  # the other candidates' files are still there
    _assert_gone(rich, {**objects, **files_under(Path(current_app.instance_path))})


def test_without_kept_scores_the_reviews_go_too(org):
    """With "keep anonymous scores" off, are their scores, reviews and decision deleted?"""
    org.org.keep_anonymous_scores = False
    db.session.commit()
    rich = rich_candidate(org)
    purge.purge([rich.invitation_id], reason="test")
    assert not db.session.scalar(
        sa.select(sa.func.count(Review.id)).where(Review.invitation_id == rich.invitation_id)
    )
    _assert_gone(rich, files_under(Path(current_app.instance_path)))


def test_storage_error_mid_purge_is_finished_by_the_next_run(org, monkeypatch):
    """Storage refuses the deletes: the rows are already gone and the tombstones list every
    file (no row points at a missing file); the next run deletes them."""
    rich = rich_candidate(org)
    storage = get_storage()

    def refuse(keys):
        raise StorageError("storage unreachable")

    monkeypatch.setattr(storage, "delete_many", refuse)
    report = purge.purge([rich.invitation_id], reason="test")
    assert report.purged == [rich.invitation_id] and report.files_failed == len(rich.keys)
    listed = set(db.session.scalars(sa.select(PurgeItem.location)))
    assert set(rich.keys) <= listed
    assert all(storage.exists(k) for k in rich.keys)
    # No row references a file that is about to go.
    referenced = services.referenced_keys()
    assert not referenced & set(rich.keys)

    monkeypatch.undo()
    purge.drain()
    _assert_gone(rich, files_under(Path(current_app.instance_path)))


def test_database_error_mid_purge_changes_nothing(org, monkeypatch):
    """A database error while erasing rolls the whole batch back: every row and file stays,
    nothing is listed for deletion, and the next run purges completely."""
    rich = rich_candidate(org)
    part = next(p for p in services.parts() if p.name == "candidate")

    def fail(ids, policy):
        raise sa.exc.OperationalError("UPDATE", {}, Exception("database went away"))

    monkeypatch.setitem(
        services._REGISTRY.parts, "candidate", services.Part("candidate", erase=fail, order=1000)
    )
    with pytest.raises(sa.exc.OperationalError):
        purge.purge([rich.invitation_id], reason="test")
    db.session.rollback()
    assert db.session.get(Invitation, rich.invitation_id).candidate_name == NAME
    assert db.session.scalar(sa.select(sa.func.count(PurgeItem.id))) == 0
    assert all(get_storage().exists(k) for k in rich.keys)
    assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 2

    services._REGISTRY.parts["candidate"] = part
    purge.purge([rich.invitation_id], reason="test")
    _assert_gone(rich, files_under(Path(current_app.instance_path)))
