"""Every route × every role × another organisation's ids, discovered from the URL map."""

from __future__ import annotations

import io
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter
from wtforms.fields.core import UnboundField

from interview import create_app
from interview.api import services as api_services
from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import (
    ApiKey,
    Comment,
    Criterion,
    DeliveryStatus,
    ImportStatus,
    InvitationImport,
    Question,
    Report,
    ReportKind,
    ReportStatus,
    Review,
    ReviewAssignment,
    Role,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from interview.privacy import requests as data_requests
from interview.shares import services as shares
from interview.webhooks import services as webhooks

from .conftest import csrf_token, sign_in
from .factories import OrgWithStaff


# How to fill each URL argument with an object of a given organisation. A new route with a new
# argument fails `test_every_url_argument_has_a_resolver` until it is added here.
def _fresh_question(o: OrgWithStaff) -> int:
    """A new question each time, so a delete by one role leaves one for the next."""
    question = Question(
        screening=o.screening,
        position=99,
        prompt="Spare question",
        think_seconds=10,
        answer_seconds=30,
        max_retakes=0,
    )
    db.session.add(question)
    db.session.commit()
    return question.id


def _fresh_criterion(o: OrgWithStaff) -> int:
    criterion = Criterion(rubric=o.screening.rubric, position=99, name="Spare criterion")
    db.session.add(criterion)
    db.session.commit()
    return criterion.id


def _fresh_comment(o: OrgWithStaff) -> int:
    """A comment of the spare reviewer's on the completed candidate (fresh: deletes consume it)."""
    review = db.session.scalar(
        sa.select(Review).where(
            Review.invitation_id == o.completed.id, Review.reviewer_id == o.spare.id
        )
    )
    if review is None:
        review = Review(invitation_id=o.completed.id, reviewer_id=o.spare.id)
        db.session.add(review)
        db.session.flush()
    response = o.completed.questions[1].response
    comment = Comment(review_id=review.id, response_id=response.id, at_ms=1000, body="Spare")
    db.session.add(comment)
    db.session.commit()
    return comment.id


def _fresh_assignment(o: OrgWithStaff) -> int:
    assignment = ReviewAssignment(screening_id=o.screening.id, reviewer_id=o.spare.id)
    db.session.add(assignment)
    db.session.commit()
    return assignment.id


def _fresh_report(o: OrgWithStaff) -> int:
    """A ready report with its file in storage (fresh: a delete consumes it)."""
    key = f"orgs/{o.org.id}/reports/sweep-{secrets.token_hex(4)}.pdf"
    size = get_storage().save(key, io.BytesIO(b"%PDF-1.7 sweep"))
    report = Report(
        org_id=o.org.id,
        screening_id=o.screening.id,
        kind=ReportKind.SCREENING_PDF,
        status=ReportStatus.READY,
        storage_key=key,
        size_bytes=size,
        finished_at=utcnow(),
    )
    db.session.add(report)
    db.session.commit()
    return report.id


def _import(o: OrgWithStaff) -> int:
    """A finished CSV import of the organisation's screening (naming its candidate)."""
    record = InvitationImport(
        org_id=o.org.id,
        screening_id=o.screening.id,
        data=b"",
        status=ImportStatus.DONE,
        invited=[[2, o.completed.candidate_name, o.completed.candidate_email]],
    )
    db.session.add(record)
    db.session.commit()
    return record.id


def _fresh_api_key(o: OrgWithStaff) -> int:
    """A live key of the organisation (fresh: a revoke consumes it)."""
    api_services.create_key(o.org, f"sweep {secrets.token_hex(3)}", "read", None)
    return db.session.scalar(sa.select(sa.func.max(ApiKey.id)).where(ApiKey.org_id == o.org.id))


def _fresh_endpoint(o: OrgWithStaff) -> int:
    """A webhook endpoint of the organisation (fresh: a delete consumes it)."""
    endpoint, _secret = webhooks.create_endpoint(o.org.id, "http://127.0.0.1:9/x", ["answer.ready"])
    return endpoint.id


def _fresh_delivery(o: OrgWithStaff) -> int:
    """A finished delivery to a fresh endpoint, so it can be replayed."""
    endpoint = db.session.get(WebhookEndpoint, _fresh_endpoint(o))
    event = WebhookEvent(
        org_id=o.org.id, msg_id=f"msg_{secrets.token_hex(8)}", type="answer.ready", data={}
    )
    delivery = WebhookDelivery(event=event, endpoint=endpoint, status=DeliveryStatus.FAILED)
    db.session.add(delivery)
    db.session.commit()
    return delivery.id


def _fresh_share(o: OrgWithStaff) -> int:
    """A live share link of the completed candidate (fresh: a revoke consumes it)."""
    share, _token = shares.create(o.screening, [o.completed.id], o.users[Role.RECRUITER])
    return share.id


ID_RESOLVERS: dict[str, Callable[[OrgWithStaff], int | str]] = {
    "screening_id": lambda o: o.screening.id,
    "user_id": lambda o: o.spare.id,
    "question_id": _fresh_question,
    "criterion_id": _fresh_criterion,
    "invitation_id": lambda o: o.invitation.id,
    "interview_question_id": lambda o: o.invitation.questions[1].id,
    "token": lambda o: o.token,
    "asset_id": lambda o: o.asset.id,
    "position": lambda o: 1,
    "take_id": lambda o: o.asset.take_id,
    "candidate_id": lambda o: o.completed.id,
    "comment_id": _fresh_comment,
    "assignment_id": _fresh_assignment,
    "report_id": _fresh_report,
    "data_token": lambda o: data_requests.data_token(o.completed),
    "import_id": _import,
    "key_id": _fresh_api_key,
    "endpoint_id": _fresh_endpoint,
    "delivery_id": _fresh_delivery,
    "share_id": _fresh_share,
    "org_id": lambda o: o.org.id,
}


def _discover() -> tuple[
    list[tuple[str, str, str]], set[str], list[tuple[str, str, str]], dict[str, frozenset]
]:
    instance = tempfile.mkdtemp(prefix="routes-")
    app = create_app(
        {"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"}
    )
    found, every_method = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods):
            every_method.append((rule.endpoint, rule.rule, method))
            if method not in {"HEAD", "OPTIONS"}:
                found.append((rule.endpoint, rule.rule, method))
    public = {e for e, view in app.view_functions.items() if getattr(view, "is_public", False)}
    roles = {
        e: getattr(view, "allowed_roles", frozenset()) for e, view in app.view_functions.items()
    }
    keyed = {e for e, view in app.view_functions.items() if getattr(view, "api_scope", None)}
    return found, public, every_method, roles, keyed


ROUTES, PUBLIC, EVERY_METHOD, ALLOWED, KEYED = _discover()
PROTECTED = [r for r in ROUTES if r[0] not in PUBLIC and r[0] not in KEYED]
API_ROUTES = [r for r in ROUTES if r[0] in KEYED]


def _url(app: Flask, endpoint: str, owner: OrgWithStaff) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {arg: ID_RESOLVERS[arg](owner) for arg in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **values)


def test_every_view_declares_who_may_use_it(app):
    """Is every route either public or guarded by roles_required?"""
    for endpoint, _rule, _method in ROUTES:
        view = app.view_functions[endpoint]
        assert (
            getattr(view, "is_public", False)
            or getattr(view, "allowed_roles", None)
            or getattr(view, "api_scope", None)
        ), endpoint


def test_every_url_argument_has_a_resolver(app):
    """Can the sweep build a URL for every route (own and foreign ids)?"""
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            assert set(rule.arguments) <= set(ID_RESOLVERS), (rule.rule, rule.arguments)


def _request(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    token = csrf_token(client, "/")
    return client.open(url, method=method, data={"csrf_token": token})


@pytest.mark.parametrize(("endpoint", "rule", "method"), PROTECTED)
def test_anonymous_is_sent_to_sign_in(app, client, org, endpoint, rule, method):
    """Does a visitor who is not signed in land on the sign-in page?"""
    response = _request(client, method, _url(app, endpoint, org))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(("endpoint", "rule", "method"), PROTECTED)
def test_roles_and_organisations(app, org, other_org, sign_in_as, endpoint, rule, method):
    """Wrong role → 403; right role → served; another organisation's object → 404."""
    allowed = app.view_functions[endpoint].allowed_roles
    has_ids = "<" in rule
    for role in Role:
        client = sign_in_as(role)
        response = _request(client, method, _url(app, endpoint, org))
        if role not in allowed:
            assert response.status_code == 403, (role, endpoint)
            continue
        assert response.status_code < 500, (role, endpoint, response.status_code)
        assert response.status_code not in (401, 403, 404), (role, endpoint, response.status_code)
        if has_ids:
            client = sign_in_as(role)
            foreign = _request(client, method, _url(app, endpoint, other_org))
            assert foreign.status_code == 404, (role, endpoint, foreign.status_code)


def test_admin_cannot_see_another_organisations_user(app, org, other_org, sign_in_as):
    """Can an admin open a user of another organisation by guessing its id?"""
    client = sign_in_as(Role.ADMIN)
    stranger = other_org.users[Role.ADMIN]
    assert client.get(f"/admin/users/{stranger.id}").status_code == 404
    page = client.get("/admin/users").get_data(as_text=True)
    assert stranger.email not in page
    assert org.users[Role.HR].email in page


def test_screening_list_shows_only_own_organisation(org, other_org, sign_in_as):
    """Does the screenings list leak another organisation's screening?"""
    other_org.screening.title = "Globex secret project"
    db.session.commit()
    page = sign_in_as(Role.REVIEWER).get("/screenings/").get_data(as_text=True)
    assert "Support Engineer" in page
    assert "Globex secret project" not in page


def _api_request(client, method: str, url: str, key: str | None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.open(url, method=method, headers=headers, json={})


def test_api_keys_scopes_and_organisations(app, client, org, other_org):
    """API, every keyed route: no key → 401; a key without the scope → 403; with it → served;
    another organisation's object → 404 (even with every scope). One test over all routes (the
    two organisations are built once), every route checked."""
    assert len(API_ROUTES) >= 20
    everything = api_services.create_key(org.org, "all", "read,invite,decide,webhooks", None)
    reader = api_services.create_key(org.org, "reader", "read", None)
    for endpoint, rule, method in API_ROUTES:
        _check_api_route(app, client, org, other_org, endpoint, rule, method, everything, reader)


def _check_api_route(app, client, org, other_org, endpoint, rule, method, everything, reader):
    scope = app.view_functions[endpoint].api_scope
    own = _url(app, endpoint, org)
    assert _api_request(client, method, own, None).status_code == 401, endpoint
    if scope != "read":
        assert _api_request(client, method, own, reader).status_code == 403, endpoint
    served = _api_request(client, method, _url(app, endpoint, org), everything)
    assert served.status_code < 500, (endpoint, served.status_code)
    assert served.status_code not in (401, 403, 404), (endpoint, served.status_code, served.json)
    if "<" in rule:
        foreign = _api_request(client, method, _url(app, endpoint, other_org), everything)
        # An empty body fails validation before any look-up: the same 422 for own and foreign
        # objects, which reveals nothing; otherwise another organisation's object is a 404.
        same_refusal = foreign.status_code == served.status_code == 422
        assert foreign.status_code == 404 or same_refusal, (endpoint, foreign.status_code)


# Endpoints exempt from CSRF on purpose: the candidate API, whose capability is the secret
# token in its URL (a third-party site cannot know it), and which standard tus clients call.
CSRF_EXEMPT_PREFIX = "candidate."
CSRF_EXEMPT = {
    "candidate.state",
    "candidate.reveal",
    "candidate.create_upload",
    "candidate.upload",
    "candidate.keep",
}
STATE_CHANGING = [r for r in ROUTES if r[2] in {"POST", "PUT", "PATCH", "DELETE"}]


@pytest.mark.parametrize(("endpoint", "rule", "method"), STATE_CHANGING)
def test_state_changing_routes_refuse_a_request_without_csrf_token(
    app, org, sign_in_as, endpoint, rule, method
):
    """Does every form post fail without its CSRF token, whoever sends it?"""
    if endpoint in CSRF_EXEMPT:
        assert endpoint.startswith(CSRF_EXEMPT_PREFIX) and "<token>" in rule
        return
    if endpoint in KEYED:
        return  # the API: a key in a header, never a cookie (test_session_cookie_is_not_...)
    allowed = getattr(app.view_functions[endpoint], "allowed_roles", None)
    client = sign_in_as(next(iter(allowed))) if allowed else app.test_client()
    response = client.open(_url(app, endpoint, org), method=method, data={"x": "1"})
    assert response.status_code == 400, (endpoint, response.status_code)
    assert "expired" in response.get_data(as_text=True)


# --- reviewers see only the candidates they are assigned to ---------------------------------


def _candidate_marks(o: OrgWithStaff) -> list[str]:
    return [
        mark
        for inv in (o.invitation, o.completed)
        for mark in (inv.candidate_name, inv.candidate_email)
    ]


@pytest.mark.parametrize(
    ("endpoint", "rule", "method"), [r for r in PROTECTED if Role.REVIEWER in ALLOWED[r[0]]]
)
def test_an_unassigned_reviewer_sees_no_candidate(app, org, endpoint, rule, method):
    """Can a reviewer of the same organisation, assigned to nothing, see any candidate (name or
    email) on any staff page, JSON answer or action of the URL map open to reviewers (the
    others answer 403 to every reviewer, as the sweep above checks)? 404 is fine."""
    client = app.test_client()
    assert sign_in(client, org.spare.email).status_code == 302
    response = _request(client, method, _url(app, endpoint, org))
    assert response.status_code < 500, (endpoint, response.status_code)
    if response.status_code in (403, 404):
        return
    body = response.get_data(as_text=True)
    for mark in _candidate_marks(org):
        assert mark not in body, (endpoint, method, mark)


def test_screening_page_lists_and_counts_only_assigned_candidates(app, org, sign_in_as):
    """The screening page (candidates and funnel): everyone for the recruiter and for a reviewer
    assigned to the whole screening; nobody for an unassigned reviewer; only the one candidate
    for a reviewer assigned to that candidate alone."""
    url = f"/screenings/{org.screening.id}"
    for client in (sign_in_as(Role.RECRUITER), sign_in_as(Role.REVIEWER)):
        page = client.get(url).get_data(as_text=True)
        assert all(mark in page for mark in _candidate_marks(org))
        assert 'data-funnel="invited">2<' in page
    spare = app.test_client()
    sign_in(spare, org.spare.email)
    page = spare.get(url).get_data(as_text=True)
    assert not any(mark in page for mark in _candidate_marks(org))
    assert 'data-funnel="invited">0<' in page
    db.session.add(
        ReviewAssignment(
            screening_id=org.screening.id, reviewer_id=org.spare.id, invitation_id=org.completed.id
        )
    )
    db.session.commit()
    page = spare.get(url).get_data(as_text=True)
    assert org.completed.candidate_email in page and org.invitation.candidate_email not in page
    assert 'data-funnel="invited">1<' in page


# --- out-of-range ids and oversized values: not found or refused, never a 5xx ------------------

# Past PostgreSQL's INTEGER, past SQLite's 64-bit binding (OverflowError), and absurd.
OVERSIZED_NUMBERS = (str(2**31), str(2**63), "9" * 40)
OVERSIZED_TEXT = "x" * 5000
_SOURCE = "\n".join(
    p.read_text() for p in (Path(__file__).resolve().parent.parent / "interview").rglob("*.py")
)


def _names(pattern: str) -> set[str]:
    return set(re.findall(pattern, _SOURCE))


def _all_subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_all_subclasses(direct))]


# Every value a view reads, found in the code, so a new form field or header is covered too:
# fields of every form class, request.form / request.args / _int names, request headers.
FORM_FIELDS = {
    name
    for form in _all_subclasses(FlaskForm)
    for name in dir(form)
    if isinstance(getattr(form, name), UnboundField)
} | _names(r'(?:form\.get|_int)\(\s*"(\w+)"')
QUERY_ARGS = _names(r'args\.get\(\s*"(\w+)"')
HEADERS = _names(r'headers\.get\(\s*"([\w-]+)"') | {"Range"}


def _sweep_client(app: Flask, org: OrgWithStaff, endpoint: str):
    """A client allowed on ``endpoint`` (a manager where possible), with a CSRF token."""
    client = app.test_client()
    allowed = getattr(app.view_functions[endpoint], "allowed_roles", None)
    if allowed:
        role = next(r for r in (Role.RECRUITER, Role.ADMIN, Role.REVIEWER, Role.HR) if r in allowed)
        assert sign_in(client, org.users[role].email).status_code == 302
    return client, csrf_token(client, "/login" if not allowed else "/")


def _oversized_request(client, method: str, url: str, token: str, value: str):
    headers = {name: value for name in HEADERS} | {
        "Tus-Resumable": "1.0.0",
        "Range": f"bytes={value}-",
    }
    if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return client.open(
            url, method=method, query_string=dict.fromkeys(QUERY_ARGS, value), headers=headers
        )
    if method == "PATCH":
        headers["Content-Type"] = "application/offset+octet-stream"
        return client.open(url, method=method, data=b"x", headers=headers)
    data = dict.fromkeys(FORM_FIELDS, value) | {"csrf_token": token}
    return client.open(url, method=method, data=data, headers=headers)


@pytest.mark.parametrize("endpoint", sorted({e for e, _r, _m in EVERY_METHOD}), ids=lambda e: e)
def test_out_of_range_ids_and_oversized_values_never_give_a_5xx(app, org, endpoint):
    """Every route × every method: each URL argument in turn set to an id no database column
    can hold (or, for text arguments, an oversized string), then every form field, query
    argument and header the code reads set to an oversized number. Not found or refused —
    never a 500 (an OverflowError on SQLite used to be one on 49 staff routes)."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    methods = sorted(rule.methods)
    client, token = _sweep_client(app, org, endpoint)
    valid = {arg: ID_RESOLVERS[arg](org) for arg in rule.arguments}
    with app.test_request_context():
        for arg in rule.arguments:
            integer = isinstance(rule._converters[arg], IntegerConverter)
            for bad in OVERSIZED_NUMBERS if integer else (OVERSIZED_TEXT,):
                url = url_for(endpoint, **(valid | {arg: bad}))
                for method in methods:
                    response = client.open(url, method=method, data={"csrf_token": token})
                    assert response.status_code < 500, (method, url[:120], response.status_code)
                    if integer and method != "OPTIONS":
                        # (405 when another rule of the same path takes other methods)
                        assert response.status_code in (404, 405), (
                            method,
                            url,
                            response.status_code,
                        )
        url = url_for(endpoint, **valid)
    for value in OVERSIZED_NUMBERS:
        for method in methods:
            response = _oversized_request(client, method, url, token, value)
            assert response.status_code < 500, (method, url, value[:12], response.status_code)
