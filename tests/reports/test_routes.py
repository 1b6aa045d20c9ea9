"""The Reports page, its status endpoint, downloads and previews, through the app."""

from __future__ import annotations

import re
from urllib.parse import unquote

import sqlalchemy as sa

from interview.extensions import db
from interview.models import AuditEvent, Report, ReportKind, ReportStatus, Role
from interview.reports import reporting

from .. import factories
from ..conftest import csrf_token, sign_in


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/"), **data})


def _only_report() -> Report:
    db.session.expire_all()
    (report,) = db.session.scalars(sa.select(Report)).all()
    return report


def test_hr_requests_watches_and_downloads_a_screening_report(app, scored, sign_in_as):
    """HR asks for the screening PDF on Letter paper, sees it queued, then ready in the status
    JSON, downloads it under a readable name; the download is in the audit log."""
    screening = scored.org.screening
    hr = sign_in_as(Role.HR)
    page = f"/reports/screenings/{screening.id}"
    response = _post(hr, page, kind="screening_pdf", page_size="Letter")
    assert response.status_code == 302 and response.headers["Location"].startswith(page)
    report = _only_report()
    assert (report.kind, report.page_size.value) == (ReportKind.SCREENING_PDF, "Letter")
    html = hr.get(page).get_data(as_text=True)
    assert f'id="report-{report.id}"' in html and 'data-status="queued"' in html
    assert "js/reports.js" in html and "<script>" not in html
    status = hr.get(f"{page}/status").get_json()
    assert status["busy"] and status["reports"][0]["status"] == "queued"
    assert status["reports"][0]["download_url"] is None

    reporting.render(report.id)
    status = hr.get(f"{page}/status").get_json()
    (row,) = status["reports"]
    assert not status["busy"] and row["status"] == "ready" and not row["stale"]
    download = hr.get(row["download_url"])
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF-")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "Support Engineer - screening report - Letter - " in disposition
    assert download.headers["ETag"] and download.headers["Accept-Ranges"] == "bytes"
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "report.download")
    ).all()
    assert len(events) == 1 and events[0].actor_id == scored.org.users[Role.HR].id
    # Resuming with a Range is the same download: served (206), not logged again.
    part = hr.get(row["download_url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == download.data[10:20]
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "report.download")
        )
        == 1
    )


def test_candidate_download_pdf_action_and_unicode_file_name(app, scored, sign_in_as):
    ada = scored.candidates["Ada Lovelace"]
    ada.candidate_name = "Zoë Ångström"
    db.session.commit()
    recruiter = sign_in_as(Role.RECRUITER)
    invitation_page = recruiter.get(
        f"/screenings/{scored.org.screening.id}/invitations/{ada.id}"
    ).get_data(as_text=True)
    assert f"/reports/candidates/{ada.id}" in invitation_page  # the "Download PDF" action
    response = _post(recruiter, f"/reports/candidates/{ada.id}", page_size="A4")
    assert response.status_code == 302
    report = _only_report()
    assert report.kind == ReportKind.CANDIDATE_PDF and report.invitation_id == ada.id
    reporting.render(report.id)
    download = recruiter.get(f"/reports/{report.id}/download")
    disposition = download.headers["Content-Disposition"]
    ascii_name = re.search(r'filename="?([^";]+)', disposition).group(1)
    assert ascii_name.isascii() and "Zoe Angstrom" in ascii_name
    utf8_name = unquote(re.search(r"filename\*=UTF-8''([^;]+)", disposition).group(1))
    assert utf8_name.startswith("Support Engineer - Zoë Ångström - A4 - ")


def test_not_completed_candidate_is_refused_with_a_message(app, scored, sign_in_as):
    hr = sign_in_as(Role.HR)
    response = _post(hr, f"/reports/candidates/{scored.org.invitation.id}")
    assert response.status_code == 302
    page = hr.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only a candidate who completed the interview has a report." in page
    assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 0


def test_stale_report_is_marked_and_can_be_regenerated(app, scored, sign_in_as):
    hr = sign_in_as(Role.HR)
    report, _ = reporting.request_report(
        scored.org.screening, ReportKind.SCREENING_PDF, scored.org.users[Role.HR]
    )
    reporting.render(report.id)
    factories.completed_candidate(scored.org.screening, "Late Comer", "late@example.com")
    db.session.commit()
    page_url = f"/reports/screenings/{scored.org.screening.id}"
    (row,) = hr.get(f"{page_url}/status").get_json()["reports"]
    assert row["stale"] and row["status"] == "ready"
    html = hr.get(page_url).get_data(as_text=True)
    stale_badge = re.search(r'<span class="badge text-bg-warning" data-role="stale"[^>]*>', html)
    assert stale_badge and "hidden" not in stale_badge.group(0)
    assert _post(hr, f"/reports/{report.id}/regenerate").status_code == 302
    assert _only_report().status == ReportStatus.QUEUED


def test_reviewers_and_other_organisations_cannot_reach_reports(app, scored, other_org):
    """A reviewer of the organisation is refused (403); HR of another organisation finds
    nothing (404), for the page, the status, the file and the previews."""
    report, _ = reporting.request_report(
        scored.org.screening, ReportKind.SCREENING_CSV, scored.org.users[Role.HR]
    )
    reporting.render(report.id)
    urls = [
        f"/reports/screenings/{scored.org.screening.id}",
        f"/reports/screenings/{scored.org.screening.id}/status",
        f"/reports/screenings/{scored.org.screening.id}/preview",
        f"/reports/candidates/{scored.candidates['Ada Lovelace'].id}/preview",
        f"/reports/{report.id}/download",
    ]
    reviewer = app.test_client()
    sign_in(reviewer, scored.org.users[Role.REVIEWER].email)
    stranger = app.test_client()
    sign_in(stranger, other_org.users[Role.HR].email)
    for url in urls:
        assert reviewer.get(url).status_code == 403, url
        assert stranger.get(url).status_code == 404, url
    assert _post(stranger, f"/reports/{report.id}/regenerate").status_code == 404
    assert _post(stranger, f"/reports/{report.id}/delete").status_code == 404
    assert db.session.get(Report, report.id) is not None


def test_csv_export_downloads_as_a_zip(app, scored, sign_in_as):
    admin = sign_in_as(Role.ADMIN)
    _post(admin, f"/reports/screenings/{scored.org.screening.id}", kind="screening_csv")
    report = _only_report()
    reporting.render(report.id)
    download = admin.get(f"/reports/{report.id}/download")
    assert download.mimetype == "application/zip" and download.data.startswith(b"PK")
    assert "Support Engineer - scores - " in download.headers["Content-Disposition"]


def test_previews_are_the_report_html_under_the_csp(app, scored, sign_in_as):
    """The preview is the PDF's own HTML: linked stylesheet, no inline style or script, posters
    through the authorised media route."""
    hr = sign_in_as(Role.HR)
    ada = scored.candidates["Ada Lovelace"]
    response = hr.get(f"/reports/candidates/{ada.id}/preview?page_size=Letter")
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 200
        and "script-src 'self'" in response.headers["Content-Security-Policy"]
    )
    assert "css/report.css" in html and "Preview of the PDF (Letter)" in html
    assert " style=" not in html and "<style" not in html and "<script" not in html
    assert "Ada Lovelace" in html and "1:05" in html and "Clear example" in html
    assert len(re.findall(r'<img src="/media/assets/\d+"', html)) == 2
    screening_html = hr.get(f"/reports/screenings/{scored.org.screening.id}/preview").get_data(
        as_text=True
    )
    assert "Ranking" in screening_html and "<svg" in screening_html
    assert " style=" not in screening_html and "<style" not in screening_html
