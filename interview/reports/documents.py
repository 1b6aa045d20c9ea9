"""What each report shows: figures read once (``services``), arranged for the templates.

The same context renders the PDF (posters embedded as ``data:`` URIs, the stylesheet inlined)
and the HTML preview in the browser (posters through the authorised media route, the
stylesheet linked), so the preview is the PDF's page, not a look-alike.

Names in reports:
- candidates appear as ``Candidate N`` (and without email) when the screening anonymises
  candidates: a report is a file that leaves the application;
- reviewers appear as ``Reviewer 1``, ``Reviewer 2``… when the screening is blind-reviewed
  (the default), numbered in one order for the whole screening, so the same person has the
  same number in every report of that screening; by name otherwise.
"""

from __future__ import annotations

import base64
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from PIL import Image, UnidentifiedImageError

from ..extensions import db
from ..media.storage import StorageError, get_storage
from ..models import (
    Invitation,
    MediaAsset,
    PageSize,
    Review,
    Screening,
    User,
    utcnow,
)
from ..transcripts import reading as transcript_reading
from . import figures, services
from .services import CandidateResult, ScreeningResults

STYLESHEET = "css/report.css"  # under the app's static folder
POSTER_WIDTH = 480  # pixels kept of a poster frame in a PDF (printed about 6 cm wide)

ImageSource = Callable[[int], str | None]  # poster asset id → src for <img>, or None


# --- names ------------------------------------------------------------------------------------


def reviewer_labels(screening: Screening) -> dict[int, str]:
    """How reviewers are named in this screening's reports (see the module docstring)."""
    reviewers = (
        sa.select(Review.reviewer_id)
        .join(Invitation, Invitation.id == Review.invitation_id)
        .where(Invitation.screening_id == screening.id)
    )
    rows = db.session.execute(
        sa.select(User.id, User.name).where(User.id.in_(reviewers)).order_by(User.id)
    ).all()
    if screening.blind_review:
        return {user_id: f"Reviewer {n}" for n, (user_id, _name) in enumerate(rows, start=1)}
    return {user_id: name for user_id, name in rows}


def candidate_name(screening: Screening) -> Callable[[CandidateResult], str]:
    if screening.anonymize_candidates:
        return lambda c: c.label
    return lambda c: c.name


def candidate_email(screening: Screening) -> Callable[[CandidateResult], str]:
    if screening.anonymize_candidates:
        return lambda c: ""
    return lambda c: c.email


# --- posters ----------------------------------------------------------------------------------


def poster_data_uri(asset: MediaAsset) -> str | None:
    """A poster frame from storage, scaled down and re-encoded as a JPEG ``data:`` URI.

    None when it cannot be read or is not a picture (the report then says so instead of
    showing a broken image).
    """
    try:
        with get_storage().open(asset.storage_key) as stream:
            raw = stream.read()
        with Image.open(io.BytesIO(raw)) as image:
            image.thumbnail((POSTER_WIDTH, POSTER_WIDTH * 4))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    except (StorageError, OSError, UnidentifiedImageError, ValueError):
        current_app.logger.warning("poster %s could not be read for a report", asset.id)
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def embedded_posters(result: CandidateResult, org_id: int) -> dict[int, str | None]:
    ids = [r.poster_asset_id for r in result.responses if r.poster_asset_id is not None]
    if not ids:
        return {}
    assets = db.session.scalars(
        sa.select(MediaAsset).where(MediaAsset.id.in_(ids), MediaAsset.org_id == org_id)
    ).all()
    return {asset.id: poster_data_uri(asset) for asset in assets}


# --- contexts ---------------------------------------------------------------------------------


@dataclass
class Document:
    """A rendered report page: its HTML, and what the PDF and the file name need."""

    html: str
    title: str
    file_stem: str


def _common(screening: Screening, page_size: PageSize, preview: bool) -> dict[str, Any]:
    return {
        "organization": screening.organization.name,
        "screening": screening,
        "generated_at": utcnow(),
        "page_size": page_size.value,
        "preview": preview,
        "flag_text": figures.flag_text,
        "at": figures.timestamp,
        "outcomes": ("advance", "hold", "reject"),
    }


def candidate_context(
    invitation: Invitation,
    *,
    page_size: PageSize = PageSize.A4,
    preview: bool = False,
    image_src: ImageSource | None = None,
    with_transcripts: bool = False,
) -> dict[str, Any]:
    """Everything the candidate report shows, for one completed candidate (and, when asked,
    each answer's transcript)."""
    screening = invitation.screening
    (result,) = services.candidate_results(screening, [invitation], with_comments=True)
    criteria = services.criteria_of(screening)
    names = reviewer_labels(screening)
    if image_src is None:
        posters = embedded_posters(result, screening.org_id)
        image_src = posters.get
    chart = figures.horizontal_bars(
        [
            (c.name, result.criteria[c.id].mean if c.id in result.criteria else None)
            for c in criteria
        ]
    )
    return {
        **_common(screening, page_size, preview),
        "kind": "candidate",
        "result": result,
        "candidate": candidate_name(screening)(result),
        "email": candidate_email(screening)(result),
        "criteria": criteria,
        "reviewer_name": lambda reviewer_id: names.get(reviewer_id, "Reviewer"),
        "image_src": image_src,
        "chart": chart,
        "anonymised": screening.anonymize_candidates,
        "blind": screening.blind_review,
        "transcripts": transcript_reading.for_takes(r.take_id for r in result.responses)
        if with_transcripts
        else None,
    }


def funnel_counts(screening: Screening) -> dict[str, int]:
    """The screening page's funnel (one function: ``services.funnel``)."""
    return services.funnel(screening)


def criterion_distributions(results: ScreeningResults) -> dict[int, list[int]]:
    """Per criterion, how many submitted scores fell on 1, 2, 3, 4 and 5 (all candidates)."""
    values: dict[int, list[int]] = {c.id: [] for c in results.criteria}
    for candidate in results.candidates:
        for response in candidate.responses:
            for scores in response.scores.values():
                for criterion_id, value in scores.items():
                    if criterion_id in values:
                        values[criterion_id].append(value)
    return {cid: figures.distribution(v) for cid, v in values.items()}


def screening_context(
    screening: Screening,
    *,
    page_size: PageSize = PageSize.A4,
    preview: bool = False,
    results: ScreeningResults | None = None,
) -> dict[str, Any]:
    """Everything the screening report shows: ranking, distributions, agreement, funnel."""
    results = results or services.screening_results(screening)
    distributions = criterion_distributions(results)
    averages = {c.id: results.criterion_average(c.id) for c in results.criteria}
    name_of = candidate_name(screening)
    return {
        **_common(screening, page_size, preview),
        "kind": "screening",
        "results": results,
        "ranking": figures.ranked(results.candidates, lambda c: c.overall.mean),
        "candidate_name": name_of,
        "criteria": results.criteria,
        "averages": averages,
        "distributions": distributions,
        "distribution_charts": {
            cid: figures.column_bars(counts) for cid, counts in distributions.items()
        },
        "chart": figures.horizontal_bars([(c.name, averages[c.id].mean) for c in results.criteria]),
        "funnel": funnel_counts(screening),
        "reviewer_count": len(reviewer_labels(screening)),
        "anonymised": screening.anonymize_candidates,
        "blind": screening.blind_review,
    }


# --- HTML -------------------------------------------------------------------------------------


def stylesheet_text() -> str:
    """The report stylesheet, read from the static folder (the preview links the same file)."""
    folder = current_app.static_folder
    assert folder is not None
    return (Path(folder) / STYLESHEET).read_text(encoding="utf-8")


def slug(text: str, limit: int = 60) -> str:
    """A file-name fragment: letters, digits and dashes (accents dropped), never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in ascii_text.lower())
    cleaned = "-".join(part for part in cleaned.split("-") if part)
    return cleaned[:limit].strip("-") or "report"


def candidate_document(
    invitation: Invitation,
    *,
    page_size: PageSize = PageSize.A4,
    preview: bool = False,
    image_src: ImageSource | None = None,
    with_transcripts: bool = False,
) -> Document:
    context = candidate_context(
        invitation,
        page_size=page_size,
        preview=preview,
        image_src=image_src,
        with_transcripts=with_transcripts,
    )
    screening = invitation.screening
    title = f"{context['candidate']} · {screening.title}"
    return Document(
        html=render_template("reports/candidate.html", title=title, **context),
        title=title,
        file_stem=f"{slug(screening.title)}-{slug(context['candidate'])}",
    )


def screening_document(
    screening: Screening, *, page_size: PageSize = PageSize.A4, preview: bool = False
) -> Document:
    context = screening_context(screening, page_size=page_size, preview=preview)
    title = f"{screening.title} · screening report"
    return Document(
        html=render_template("reports/screening.html", title=title, **context),
        title=title,
        file_stem=f"{slug(screening.title)}-screening-report",
    )
