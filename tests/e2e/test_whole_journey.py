"""All four roles in one real-browser journey against a live server, a real RQ worker, real
Redis and real ffmpeg: a recruiter builds and opens a screening and invites two candidates; each
candidate opens the emailed link and answers every question (one retake, one network drop); the
worker processes every take; two reviewers score blind; the recruiter records decisions; HR
downloads the reports and their numbers match what the reviewers entered.

Screenshots of every step are saved under test-artifacts/e2e/<database>/<test name>/
(not committed)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from interview.extensions import db
from interview.models import (
    Decision,
    Invitation,
    InvitationStatus,
    Review,
    ReviewStatus,
    Role,
    Screening,
    TakeStatus,
)
from interview.reports import services as results
from interview.review import services as reviewing

from .candidate import Candidate
from .conftest import sign_in, takes_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LINK = re.compile(r"http://[^\s\"'<>]+/i/[A-Za-z0-9_-]+")


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0

    def __call__(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


def build_screening(page: Page, base: str, shot: Shots) -> int:
    page.goto(f"{base}/screenings/new")
    page.get_by_label("Title").fill("Support Engineer (journey)")
    page.get_by_role("button", name="Create and add questions").click()
    page.wait_for_url(re.compile(r".*/screenings/\d+/edit$"))
    screening_id = int(re.search(r"/screenings/(\d+)/edit", page.url).group(1))
    # Question 1 starts recording by itself after 2 s; question 2 when the candidate is ready.
    for prompt, think in (
        ("Tell us about a customer you helped.", "2"),
        ("What would you improve here?", "0"),
    ):
        page.get_by_label("Question", exact=True).fill(prompt)
        page.get_by_label("Think time (seconds)").fill(think)
        page.get_by_label("Answer time limit (seconds)").fill("15")
        page.get_by_label("Retakes allowed").fill("1")
        page.get_by_role("button", name="Add question").click()
        expect(page.get_by_text(prompt)).to_be_visible()
    for name, weight in (("Clarity", "2"), ("Empathy", "1")):
        page.get_by_label("Criterion", exact=True).fill(name)
        page.get_by_label("Weight", exact=False).fill(weight)
        page.get_by_label("3 – adequate").fill(f"{name}: adequate")
        page.get_by_role("button", name="Add criterion").click()
        expect(page.locator("strong", has_text=name)).to_be_visible()
    shot(page, "recruiter-screening-built")
    page.goto(f"{base}/screenings/{screening_id}")
    page.get_by_role("button", name="Open for candidates").click()
    for name, email in (("Ana Alvarez", "ana@example.com"), ("Ben Brown", "ben@example.com")):
        page.get_by_label("Candidate name").fill(name)
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_role("button", name="Invite", exact=True).click()
        expect(page.locator("#candidates")).to_be_visible()
    shot(page, "recruiter-invited")
    return screening_id


def emailed_links(page: Page, base: str) -> dict[str, str]:
    """Read each candidate's link from the outbox, as a candidate would from their email."""
    page.goto(f"{base}/screenings/outbox")
    text = page.locator("main").inner_text()
    links = {}
    for email in ("ana@example.com", "ben@example.com"):
        block = text[text.index(email) :]
        links[email] = LINK.search(block).group(0)
    return links


def answer_everything(me: Candidate, context, shot_prefix: str) -> None:
    me.consent_and_start()
    me.device_check(test_recording=False)
    # Question 1 with one retake.
    me.expect_heading("Question 1 of 2")
    me.reveal()
    me.record(2)
    me.wait_saved()
    me.retake()
    me.record(2.5)
    me.wait_saved()
    me.keep()
    # Question 2 with the network dropping mid-answer.
    me.expect_heading("Question 2 of 2")
    me.reveal()
    me.start_when_ready()
    expect(me.page.locator("#q-recording")).to_be_visible()
    me.page.wait_for_timeout(1000)
    context.set_offline(True)
    me.page.wait_for_timeout(1500)
    me.shot(f"{shot_prefix}-offline")
    me.record(0.5)
    context.set_offline(False)
    me.wait_saved()
    me.keep()
    me.page.get_by_role("button", name="Submit my answers").click()
    me.page.wait_for_url(re.compile(r".*/done$"))
    me.shot(f"{shot_prefix}-receipt")
    assert me.page_errors() == []


def score_blind(page: Page, base: str, screening_id: int, plan: dict, shot: Shots, who: str):
    """A reviewer scores each candidate with the keyboard and submits; returns what they gave."""
    page.goto(f"{base}/review/screenings/{screening_id}")
    given = {}
    for name, (values, recommendation) in plan.items():
        page.goto(f"{base}/review/screenings/{screening_id}")
        page.get_by_role("link", name=name).click()
        expect(page.locator("body")).to_have_attribute("data-review-ready", "true")
        # Blind: nothing of the other reviewer's is visible before submitting.
        expect(page.locator(".others")).to_have_count(0)
        for index, row in enumerate(values):
            answer = page.locator(".answer").nth(index)
            answer.locator(".criterion input").first.focus()
            for value in row:
                page.keyboard.press(str(value))
        page.locator(f"label[for=rec-{recommendation}]").click()
        expect(page.locator("#save-status")).to_have_text("All changes saved")
        shot(page, f"{who}-scored-{name.split()[0].lower()}")
        page.get_by_role("button", name="Submit review").click()
        expect(page.locator(".alert-success")).to_contain_text("Review submitted")
        given[name] = values
    return given


def test_all_four_roles_end_to_end(app, org, live_server, browser, artifacts, run_media_worker):
    shot = Shots(artifacts)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()

    # 1. Recruiter builds, opens and invites.
    sign_in(page, live_server, org.users[Role.RECRUITER].email)
    screening_id = build_screening(page, live_server, shot)
    # The emails go out through the real queue and a real worker, into the outbox.
    run_media_worker(
        queues="emails", MAIL_OUTBOX_DIR=app.config["MAIL_OUTBOX_DIR"], BASE_URL=live_server
    )
    links = emailed_links(page, live_server)
    shot(page, "outbox")
    screening = db.session.get(Screening, screening_id)
    for reviewer in (org.users[Role.REVIEWER], org.spare):
        reviewing.assign(screening, reviewer)
    db.session.commit()

    # 2. Each candidate, in their own browser context, answers everything and submits.
    for email, link in links.items():
        cctx = browser.new_context(viewport={"width": 1280, "height": 860})
        cctx.set_default_timeout(20_000)
        token = link.rsplit("/i/", 1)[1]
        me = Candidate(cctx.new_page(), live_server, token, artifacts)
        me.shots = shot.count + 100 * (list(links).index(email) + 1)
        answer_everything(me, cctx, email.split("@")[0])
        cctx.close()

    # 3. A real worker processes every take.
    run_media_worker()
    invitations = db.session.scalars(
        sa.select(Invitation).where(Invitation.screening_id == screening_id)
    ).all()
    assert {i.status for i in invitations} == {InvitationStatus.COMPLETED}
    for inv in invitations:
        for take in takes_of(inv.id):
            assert take.status == TakeStatus.READY, take.failure_reason

    # 4. Two reviewers score blind.
    plans = {
        "reviewer": {
            "Ana Alvarez": ([[4, 3], [5, 4]], "advance"),
            "Ben Brown": ([[2, 2], [3, 1]], "reject"),
        },
        "spare": {
            "Ana Alvarez": ([[5, 4], [4, 4]], "advance"),
            "Ben Brown": ([[2, 3], [2, 2]], "hold"),
        },
    }
    given = {}
    for who, user in (("reviewer", org.users[Role.REVIEWER]), ("spare", org.spare)):
        rctx = browser.new_context(viewport={"width": 1280, "height": 900})
        rctx.set_default_timeout(20_000)
        rpage = rctx.new_page()
        sign_in(rpage, live_server, user.email)
        given[who] = score_blind(rpage, live_server, screening_id, plans[who], shot, who)
        rctx.close()
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Review.id)).where(Review.status == ReviewStatus.SUBMITTED)
        )
        == 4
    )

    # 5. The recruiter sees both reviews, the averages, spread and agreement; records decisions.
    page.goto(f"{live_server}/review/screenings/{screening_id}/results")
    data = results.screening_results(db.session.get(Screening, screening_id))
    by_name = {c.name: c for c in data.candidates}
    for candidate in by_name.values():
        row = page.locator(f"#candidate-{candidate.invitation_id}")
        expect(row.locator("[data-figure=average]")).to_have_text(f"{candidate.overall.mean:.2f}")
        assert len(candidate.reviewers) == 2
    expect(page.locator("#agreement")).to_contain_text(f"{data.alpha:.2f}")
    shot(page, "recruiter-results")
    for name, outcome in (("Ana Alvarez", "advance"), ("Ben Brown", "reject")):
        row = page.locator(f"#candidate-{by_name[name].invitation_id}")
        row.locator("select[name=outcome]").select_option(outcome)
        row.get_by_role("button", name="Save").click()
        expect(page.locator(".alert-success")).to_contain_text("Decision recorded")
    shot(page, "recruiter-decided")
    db.session.expire_all()
    decisions = dict(
        db.session.execute(
            sa.select(Invitation.candidate_name, Decision.outcome).join(
                Decision, Decision.invitation_id == Invitation.id
            )
        ).all()
    )
    assert decisions == {"Ana Alvarez": "advance", "Ben Brown": "reject"}

    # Hand check of one figure: Ana, Clarity ×2 / Empathy ×1, four (reviewer, answer) pairs.
    weighted = [(2 * a + b) / 3 for a, b in ([4, 3], [5, 4], [5, 4], [4, 4])]
    assert by_name["Ana Alvarez"].overall.mean == pytest.approx(sum(weighted) / 4)
    ctx.close()

    # 6. HR asks for Ana's PDF and the CSV export; a real worker renders them; HR downloads
    #    both, and their numbers are the ones the reviewers entered.
    hctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    hctx.set_default_timeout(20_000)
    hr = hctx.new_page()
    sign_in(hr, live_server, org.users[Role.HR].email)
    hr.goto(f"{live_server}/screenings/{screening_id}")
    hr.get_by_role("link", name="Reports (PDF, CSV)").click()
    hr.locator("tr", has_text="Ana Alvarez").get_by_role("button", name="Download PDF").click()
    hr.get_by_role("button", name="Create CSV export").click()
    expect(hr.locator("[data-report]")).to_have_count(2)
    run_media_worker(queues="reports")
    rows = hr.locator("[data-report]")
    for i in range(2):
        expect(rows.nth(i)).to_have_attribute("data-status", "ready")  # the page polls
    shot(hr, "hr-reports-ready")
    files = {}
    for i in range(2):
        with hr.expect_download() as info:
            rows.nth(i).locator("[data-role=download]").click()
        download = info.value
        files[Path(download.suggested_filename).suffix] = Path(download.path()).read_bytes()
    hctx.close()

    ana = by_name["Ana Alvarez"]
    pdf_path = artifacts / "ana.pdf"
    pdf_path.write_bytes(files[".pdf"])
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Ana Alvarez" in text and "advance" in text.lower()
    assert f"{ana.overall.mean:.2f}" in text
    for response in ana.responses:
        for figure in response.weighted.values():
            assert f"{figure:.2f}" in text

    with zipfile.ZipFile(io.BytesIO(files[".zip"])) as archive:
        scores_name = next(n for n in archive.namelist() if n.endswith("-scores.csv"))
        table = list(csv.DictReader(io.StringIO(archive.read(scores_name).decode("utf-8-sig"))))
    entered = {
        name: sorted(
            tuple(
                (answer + 1, criterion, value)
                for answer, row in enumerate(plans[who][name][0])
                for criterion, value in zip(("Clarity", "Empathy"), row, strict=True)
            )
            for who in plans
        )
        for name in ("Ana Alvarez", "Ben Brown")
    }
    exported = {}
    for name in entered:
        per_reviewer: dict[str, list] = {}
        for line in table:
            if line["candidate"] == name:
                per_reviewer.setdefault(line["reviewer"], []).append(
                    (int(line["question_number"]), line["criterion"], int(line["score"]))
                )
        exported[name] = sorted(tuple(sorted(v)) for v in per_reviewer.values())
        assert {line["decision"] for line in table if line["candidate"] == name} == {
            decisions[name]
        }
    assert exported == {name: [tuple(sorted(v)) for v in vs] for name, vs in entered.items()}
