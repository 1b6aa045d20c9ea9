"""Share links: a hiring manager without an account sees exactly what was shared, for as long
as it was shared, and every view is logged."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from interview.extensions import db
from interview.models import AssetKind, AuditEvent, Role, ShareLink, utcnow
from interview.shares import services

from .. import factories
from ..conftest import csrf_token

MP4 = b"\x00\x00\x00\x18ftypmp42 a stand-in video"


def _shared(org, **options):
    """A link for the completed candidate (with a stored MP4 answer) and its token."""
    take = org.completed.questions[1].response.take
    video = next((a for a in take.assets if a.kind == AssetKind.MP4), None)
    if video is None:
        video = factories.stored_asset(take, AssetKind.MP4, MP4, "video/mp4")
        db.session.commit()
    share, token = services.create(
        org.screening, [org.completed.id], org.users[Role.RECRUITER], recipient="Dana", **options
    )
    return share, token, video


def test_recruiter_makes_a_link_on_the_page_and_it_is_shown_once(org, sign_in_as):
    """Does the recruiter's form make a working link, shown once, stored only as a hash?"""
    client = sign_in_as(Role.RECRUITER)
    path = f"/shares/screenings/{org.screening.id}"
    page = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "candidates": [str(org.completed.id)],
            "recipient": "Dana, hiring manager",
            "days": "7",
        },
    ).get_data(as_text=True)
    link = re.search(r'id="share-link">([^<]+)<', page).group(1)
    token = link.rsplit("/s/", 1)[1]
    share = db.session.scalar(sa.select(ShareLink))
    assert token not in str(share.token_hash) and len(token) == 43
    assert share.expires_at - utcnow() > timedelta(days=6, hours=23)
    assert token not in client.get(path).get_data(as_text=True)  # not shown again


def test_hiring_manager_sees_the_shared_candidate_and_nobody_else(app, org, client):
    """Does the page show the shared candidate's answers, who shared it and until when, and
    nothing of another candidate; is every view an audit event?"""
    other = factories.completed_candidate(org.screening, "Sam Other", "sam@example.com")
    db.session.commit()
    share, token, video = _shared(org)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "Robin Reviewed" in text and "Sam Other" not in text
    assert "Recruiter of Northwind" in text and "Dana" in text
    assert f"/s/{token}/media/{video.id}" in text
    assert "average score" not in text  # scores only when ticked
    served = client.get(f"/s/{token}/media/{video.id}")
    assert served.status_code == 200 and served.data == MP4
    # Another candidate's answer, by guessing its asset id, is not served through the link.
    other_take = other.questions[1].response.take
    foreign = factories.stored_asset(other_take, AssetKind.MP4, MP4, "video/mp4")
    db.session.commit()
    assert client.get(f"/s/{token}/media/{foreign.id}").status_code == 404
    assert client.get(f"/s/{token}/media/{org.asset.id + 10_000}").status_code == 404
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.actor_label.like("share link%"))
    ).all()
    assert actions.count("share.viewed") == 1 and "media.stream" in actions


def test_downloads_only_when_allowed_and_scores_only_when_ticked(org, client):
    """Is ?download=1 refused unless allowed; are scores shown only when ticked?"""
    factories.scored_review(org.completed, org.users[Role.REVIEWER], [[4]])
    db.session.commit()
    _share, token, video = _shared(org)
    assert client.get(f"/s/{token}/media/{video.id}?download=1").status_code == 403
    _share2, token2, _video2 = _shared(org, show_scores=True, allow_download=True)
    page = client.get(f"/s/{token2}").get_data(as_text=True)
    assert "average score" in page and "Reviewer 1" in page  # blind screening: no names
    assert org.users[Role.REVIEWER].name not in page
    download = client.get(f"/s/{token2}/media/{video.id}?download=1")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]


def test_links_expire_and_revoke(org, client, sign_in_as):
    """Does an expired or revoked link show 'no longer available', and its media 404?"""
    share, token, video = _shared(org)
    share.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    gone = client.get(f"/s/{token}")
    assert gone.status_code == 404 and "no longer available" in gone.get_data(as_text=True)
    assert client.get(f"/s/{token}/media/{video.id}").status_code == 404
    share2, token2, _ = _shared(org)
    assert client.get(f"/s/{token2}").status_code == 200
    recruiter = sign_in_as(Role.RECRUITER)
    path = f"/shares/{share2.id}/revoke"
    recruiter.post(path, data={"csrf_token": csrf_token(recruiter, "/")})
    assert client.get(f"/s/{token2}").status_code == 404
    assert client.get("/s/" + "x" * 43).status_code == 404


def test_passcode_is_asked_checked_and_rate_limited(app, org, client):
    """Is a passcode asked for, a wrong one refused (and counted), the right one opening it?"""
    app.config["SHARE_PASSCODE_LIMIT"] = "3 per 15 minutes"
    share, token, video = _shared(org, passcode="tulip-42")
    assert share.passcode_hash and "tulip-42" not in share.passcode_hash
    first = client.get(f"/s/{token}")
    assert "Passcode" in first.get_data(as_text=True)
    assert "Robin Reviewed" not in first.get_data(as_text=True)
    assert client.get(f"/s/{token}/media/{video.id}").status_code == 404
    token_field = csrf_token(client, f"/s/{token}")
    wrong = client.post(f"/s/{token}", data={"csrf_token": token_field, "passcode": "nope"})
    assert wrong.status_code == 403
    right = client.post(f"/s/{token}", data={"csrf_token": token_field, "passcode": "tulip-42"})
    assert right.status_code == 302
    assert "Robin Reviewed" in client.get(f"/s/{token}").get_data(as_text=True)
    assert client.get(f"/s/{token}/media/{video.id}").status_code == 200
    # A third attempt is still allowed; the fourth within the window is not.
    client.post(f"/s/{token}", data={"csrf_token": token_field, "passcode": "nope"})
    limited = client.post(f"/s/{token}", data={"csrf_token": token_field, "passcode": "x"})
    assert limited.status_code == 429


def test_only_completed_candidates_of_the_screening_can_be_shared(org, other_org):
    """Is a candidate of another screening, organisation or one still in progress refused?"""
    recruiter = org.users[Role.RECRUITER]
    for candidate_id in (org.invitation.id, other_org.completed.id):
        try:
            services.create(org.screening, [candidate_id], recruiter)
        except services.ShareError:
            continue
        raise AssertionError(f"candidate {candidate_id} was shared")
