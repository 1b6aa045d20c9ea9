"""The integration API from outside: keys, scopes, organisations, invitations, results."""

from __future__ import annotations

import re

import sqlalchemy as sa

from interview.extensions import db
from interview.models import (
    ApiKey,
    AuditEvent,
    Decision,
    IdempotentRequest,
    Invitation,
    Role,
    ScreeningStatus,
)
from interview.privacy import purge

from .. import factories
from ..conftest import csrf_token
from .conftest import bearer, make_key


def _open(org) -> None:
    org.screening.status = ScreeningStatus.OPEN
    db.session.commit()


def test_no_key_gets_401_problem_document(client, org):
    """Does a call without a key get an RFC 9457 problem and a Bearer challenge?"""
    response = client.get("/api/v1/screenings")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and response.json["title"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_cookie_is_not_an_api_credential(sign_in_as, org):
    """Can a signed-in browser (a cookie, no key) use the API? It must not: no CSRF then."""
    response = sign_in_as(Role.ADMIN).get("/api/v1/screenings")
    assert response.status_code == 401


def test_screenings_list_and_detail_with_questions_and_rubric(api, org, other_org):
    """Does a key list its organisation's screenings, with questions and rubric on one?"""
    listed = api.get("/api/v1/screenings").json["data"]
    assert [s["id"] for s in listed] == [org.screening.id]
    one = api.get(f"/api/v1/screenings/{org.screening.id}").json
    assert [q["prompt"] for q in one["questions"]] == [q.prompt for q in org.screening.questions]
    assert [c["name"] for c in one["rubric"]["criteria"]] == [
        c.name for c in org.screening.rubric.criteria
    ]
    assert len(one["rubric"]["criteria"][0]["levels"]) == 5


def test_another_organisations_objects_are_404(api, org, other_org):
    """Does a key of one organisation see nothing of another's (404, never 403)?"""
    for path in (
        f"/api/v1/screenings/{other_org.screening.id}",
        f"/api/v1/invitations/{other_org.invitation.id}",
        f"/api/v1/invitations/{other_org.completed.id}/results",
        f"/api/v1/invitations/{other_org.completed.id}/answers",
    ):
        assert api.get(path).status_code == 404, path
    response = api.post(
        f"/api/v1/invitations/{other_org.completed.id}/decision", json={"outcome": "advance"}
    )
    assert response.status_code == 404
    listed = api.get("/api/v1/invitations").json["data"]
    assert {i["id"] for i in listed} == {org.invitation.id, org.completed.id}


def test_missing_scope_is_403_and_revoked_key_is_401(client, org):
    """Does a read-only key get 403 on invite/decide, and a revoked key 401?"""
    raw = make_key(org.org, "read", name="reader")
    headers = bearer(raw)
    _open(org)
    invite = client.post(
        f"/api/v1/screenings/{org.screening.id}/invitations",
        json={"name": "Ann", "email": "ann@example.com"},
        headers=headers,
    )
    assert invite.status_code == 403 and "invite" in invite.json["detail"]
    decide = client.post(
        f"/api/v1/invitations/{org.completed.id}/decision",
        json={"outcome": "advance"},
        headers=headers,
    )
    assert decide.status_code == 403
    assert client.get("/api/v1/screenings", headers=headers).status_code == 200
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == "reader"))
    assert key.last_used_at is not None
    key.revoked_at = key.last_used_at
    db.session.commit()
    assert client.get("/api/v1/screenings", headers=headers).status_code == 401


def test_invite_one_validates_and_uses_the_recruiting_rules(api, org):
    """Is a bad email refused with a clear problem, a duplicate refused, a good one invited?"""
    path = f"/api/v1/screenings/{org.screening.id}/invitations"
    org.screening.status = ScreeningStatus.DRAFT
    db.session.commit()
    closed = api.post(path, json={"name": "Ann", "email": "ann@example.com"})
    assert closed.status_code == 409 and "not open" in closed.json["detail"]
    _open(org)
    bad = api.post(path, json={"name": "Ann", "email": "not-an-email"})
    assert bad.status_code == 422 and "email" in bad.json["errors"]
    missing = api.post(path, json={"name": "Ann"})
    assert missing.status_code == 422 and "email" in missing.json["errors"]
    made = api.post(path, json={"name": "Ann", "email": "Ann@Example.com", "send_email": False})
    assert made.status_code == 201
    assert made.json["candidate_email"] == "ann@example.com" and made.json["status"] == "invited"
    again = api.post(path, json={"name": "Ann", "email": "ann@example.com"})
    assert again.status_code == 409 and "already invited" in again.json["detail"]
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "invitation.created")
    )
    assert event.actor_label.startswith("api key ivk_")


def test_bulk_invitations_are_idempotent(api, org):
    """Does a bulk invite retried with the same Idempotency-Key invite nobody twice, and the
    same key with another body get 422?"""
    _open(org)
    path = f"/api/v1/screenings/{org.screening.id}/invitations/bulk"
    body = {
        "candidates": [
            {"name": "A", "email": "a@example.com"},
            {"name": "B", "email": "bad"},
            {"name": "A again", "email": "a@example.com"},
            {"name": "C", "email": "c@example.com"},
        ],
        "send_email": False,
    }
    first = api.post(path, json=body, headers={"Idempotency-Key": "batch-1"})
    assert first.status_code == 200
    assert [i["candidate_email"] for i in first.json["invited"]] == [
        "a@example.com",
        "c@example.com",
    ]
    assert [e["index"] for e in first.json["errors"]] == [1]
    assert [d["index"] for d in first.json["duplicates"]] == [2]
    replay = api.post(path, json=body, headers={"Idempotency-Key": "batch-1"})
    assert replay.status_code == 200 and replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    count = db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).where(Invitation.screening_id == org.screening.id)
    )
    assert count == 4  # the two in the factory and A and C, once
    other = api.post(
        path, json={**body, "send_email": True}, headers={"Idempotency-Key": "batch-1"}
    )
    assert other.status_code == 422 and "different request" in other.json["detail"]
    # The stored reply names the candidate: deleting their data removes it too.
    a_id = first.json["invited"][0]["id"]
    purge.purge([a_id], reason="test")
    kept = [str(r.body) for r in db.session.scalars(sa.select(IdempotentRequest))]
    assert not any("a@example.com" in body for body in kept)


def test_list_invitations_pages_with_a_cursor_and_filters(api, org):
    """Does the cursor walk every invitation once, newest first, and do filters apply?"""
    for n in range(5):
        factories.invitation(org.screening, email=f"p{n}@example.com")
    db.session.commit()
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get("/api/v1/invitations" + query).json
        seen += [i["id"] for i in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 7
    completed = api.get("/api/v1/invitations?status=completed").json["data"]
    assert [i["id"] for i in completed] == [org.completed.id]
    assert api.get("/api/v1/invitations?cursor=garbage").status_code == 422
    assert api.get("/api/v1/invitations?limit=0").status_code == 422


def test_extend_revoke_resend_and_link(api, org):
    """Do the invitation actions go through the recruiting rules?"""
    inv = org.invitation
    link = api.get(f"/api/v1/invitations/{inv.id}/link")
    assert link.status_code == 200 and "/i/" in link.json["url"]
    past = api.post(
        f"/api/v1/invitations/{inv.id}/extend", json={"expires_at": "2001-01-01T00:00:00Z"}
    )
    assert past.status_code == 409 and "future" in past.json["detail"]
    later = api.post(
        f"/api/v1/invitations/{inv.id}/extend", json={"expires_at": "2099-01-01T00:00:00+00:00"}
    )
    assert later.status_code == 200 and later.json["expires_at"].startswith("2099-01-01")
    assert api.post(f"/api/v1/invitations/{inv.id}/resend").status_code == 200
    revoked = api.post(f"/api/v1/invitations/{inv.id}/revoke")
    assert revoked.json["status"] == "revoked"
    assert api.get(f"/api/v1/invitations/{inv.id}/link").status_code == 409
    assert api.post(f"/api/v1/invitations/{inv.id}/resend").status_code == 409


def test_results_respect_blind_and_hidden_names_and_decision_is_recorded(api, org):
    """Do results show submitted scores only, reviewers as 'Reviewer N' on a blind screening
    and 'Candidate N' when names are hidden; does a decision land and show?"""
    reviewer = org.users[Role.REVIEWER]
    factories.scored_review(org.completed, reviewer, [[4]])
    factories.scored_review(org.completed, org.spare, [[1]], submit=False)
    org.screening.anonymize_candidates = True
    db.session.commit()
    results = api.get(f"/api/v1/invitations/{org.completed.id}/results").json
    assert results["status"] == "completed"
    assert results["candidate"].startswith("Candidate ")
    assert [r["reviewer"] for r in results["reviewers"]] == ["Reviewer 1"]  # draft left out
    assert reviewer.name not in str(results)
    assert results["overall"]["count"] > 0 and results["recommendations"] == {"advance": 1}
    criterion = org.screening.rubric.criteria[0]
    assert {
        s["value"] for s in results["reviewers"][0]["scores"] if s["criterion_id"] == criterion.id
    } == {4}
    decided = api.post(
        f"/api/v1/invitations/{org.completed.id}/decision",
        json={"outcome": "advance", "note": "Strong"},
    )
    assert decided.status_code == 200 and decided.json["outcome"] == "advance"
    assert db.session.scalar(sa.select(Decision.outcome)).value == "advance"
    again = api.get(f"/api/v1/invitations/{org.completed.id}/results").json
    assert again["decision"]["note"] == "Strong"
    bad = api.post(f"/api/v1/invitations/{org.completed.id}/decision", json={"outcome": "maybe"})
    assert bad.status_code == 422
    not_done = api.post(
        f"/api/v1/invitations/{org.invitation.id}/decision", json={"outcome": "advance"}
    )
    assert not_done.status_code == 409


def test_answers_have_short_lived_playback_urls(api, client, org, app):
    """Does a playback URL serve the answer's file without a key, and stop after its lifetime?"""
    answers = api.get(f"/api/v1/invitations/{org.completed.id}/answers").json
    urls = [a["poster_url"] for a in answers["data"] if a["poster_url"]]
    assert len(urls) == 1
    path = urls[0].split("://", 1)[1].split("/", 1)[1]
    served = client.get("/" + path)
    assert served.status_code == 200 and served.data.startswith(b"\xff\xd8")
    app.config["API_PLAYBACK_URL_SECONDS"] = -1
    assert client.get("/" + path).status_code == 404
    assert client.get("/api/v1/media/forged-token").status_code == 404


def test_openapi_document_and_docs_page(client):
    """Is there an OpenAPI 3.1 document and a docs page whose assets are local?"""
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/invitations" in spec["paths"]
    listing = spec["paths"]["/api/v1/invitations"]["get"]["responses"]
    assert {"X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(listing["200"]["headers"])
    assert "Retry-After" in listing["429"]["headers"]
    assert "Retry-After" not in listing["200"]["headers"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in page and "https://" not in page


def test_webhook_endpoints_through_the_api(api, org, other_org, app):
    """Create returns the secret once; list/get never show it; update, rotate, delete; a
    private target is refused when the operator has not allowed them."""
    created = api.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": ["interview.completed"]},
    )
    assert created.status_code == 201 and created.json["secret"].startswith("whsec_")
    endpoint_id = created.json["id"]
    listed = api.get("/api/v1/webhooks").json["data"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    assert "secret" not in api.get(f"/api/v1/webhooks/{endpoint_id}").json
    changed = api.patch(
        f"/api/v1/webhooks/{endpoint_id}", json={"events": ["decision.recorded"], "enabled": False}
    )
    assert changed.json["events"] == ["decision.recorded"] and changed.json["enabled"] is False
    rotated = api.post(f"/api/v1/webhooks/{endpoint_id}/rotate")
    assert rotated.json["secret"] != created.json["secret"] and rotated.json["rotating_until"]
    assert api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json == {"data": []}
    app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = False
    refused = api.post(
        "/api/v1/webhooks", json={"url": "http://localhost/x", "events": ["answer.ready"]}
    )
    assert refused.status_code == 409 and "private" in refused.json["detail"]
    assert api.delete(f"/api/v1/webhooks/{endpoint_id}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{endpoint_id}").status_code == 404


def test_rate_limit_is_per_key_with_a_problem_document(app, client, org):
    """Is a key over API_RATE_LIMIT answered 429 (problem + Retry-After), another key not?"""
    app.config["API_RATE_LIMIT"] = "3 per minute"
    busy, calm = make_key(org.org, name="busy"), make_key(org.org, name="calm")
    codes = [client.get("/api/v1/screenings", headers=bearer(busy)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/screenings", headers=bearer(busy))
    assert limited.mimetype == "application/problem+json" and limited.headers["Retry-After"]
    assert client.get("/api/v1/screenings", headers=bearer(calm)).status_code == 200


def test_admin_page_and_cli_make_keys_shown_once_and_stored_hashed(org, sign_in_as, runner):
    """Does the admin page show a new key once (only its hash kept), and does the CLI print a
    working key for an organisation named by slug?"""
    admin = sign_in_as(Role.ADMIN)
    page = admin.post(
        "/admin/api-keys/",
        data={"csrf_token": csrf_token(admin, "/admin/api-keys/"), "name": "ATS", "invite": "y"},
    ).get_data(as_text=True)
    raw = re.search(r'id="api-key">(ivk_[^<]+)<', page).group(1)
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == "ATS"))
    assert key.scopes == ["invite", "read"] and raw not in (key.key_hash, key.prefix)
    assert raw not in admin.get("/admin/api-keys/").get_data(as_text=True)
    result = runner.invoke(
        args=["api", "keys", "create", "--org", "northwind", "--name", "cli", "--scopes", "read"]
    )
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert printed.startswith("ivk_")
    assert runner.invoke(args=["api", "keys", "create", "--org", "nope", "--name", "x"]).exit_code
    assert runner.invoke(
        args=["api", "keys", "create", "--org", "northwind", "--name", "x", "--scopes", "root"]
    ).exit_code
