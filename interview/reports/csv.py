"""Score exports as CSV: pure functions over the results read by ``services`` (no database).

Two files, zipped together as one download:

- ``scores.csv``, long format: one row per candidate × answer × criterion × reviewer (a reviewer
  who submitted a review but left a criterion unscored gives an empty ``score``);
- ``summary.csv``: one row per completed candidate, best first;
- ``answers.csv``: one row per candidate × answer, with its transcript (made on this server).

UTF-8 with a byte-order mark (so spreadsheet programs read accents right) and a header row.
Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a
carriage return) are prefixed with an apostrophe: names, prompts and comments are typed by
candidates and staff, and must never execute when HR opens the file.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .figures import ranked

if TYPE_CHECKING:
    from .services import CandidateResult, ScreeningResults

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

SCORES_HEADER = [
    "candidate_number",
    "candidate",
    "email",
    "question_number",
    "question",
    "criterion",
    "criterion_weight",
    "reviewer",
    "score",
    "reviewer_answer_score",
    "reviewer_recommendation",
    "decision",
]


def safe_cell(value: Any) -> Any:
    """A cell as written: text that could start a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 (with BOM) CSV, CRLF line ends as RFC 4180 says, every cell made safe."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def _figure(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _value(enum_or_none: Any) -> str | None:
    return None if enum_or_none is None else getattr(enum_or_none, "value", str(enum_or_none))


def scores_rows(
    results: ScreeningResults,
    *,
    candidate_name: Callable[[CandidateResult], str],
    candidate_email: Callable[[CandidateResult], str],
    reviewer_name: Mapping[int, str],
) -> list[list[Any]]:
    """Long format: candidate × answer × criterion × reviewer, in candidate-number order."""
    rows: list[list[Any]] = []
    for candidate in sorted(results.candidates, key=lambda c: c.number):
        recommendations = {r.id: _value(r.recommendation) for r in candidate.reviewers}
        for response in candidate.responses:
            for criterion in results.criteria:
                for reviewer in candidate.reviewers:
                    score = response.scores.get(reviewer.id, {}).get(criterion.id)
                    rows.append(
                        [
                            candidate.number,
                            candidate_name(candidate),
                            candidate_email(candidate),
                            response.number,
                            response.prompt,
                            criterion.name,
                            criterion.weight,
                            reviewer_name.get(reviewer.id, f"Reviewer {reviewer.id}"),
                            score,
                            _figure(response.weighted.get(reviewer.id)),
                            recommendations.get(reviewer.id),
                            _value(candidate.decision),
                        ]
                    )
    return rows


def summary_header(results: ScreeningResults) -> list[str]:
    return [
        "rank",
        "candidate_number",
        "candidate",
        "email",
        "invited_at",
        "completed_at",
        "reviews",
        "average",
        "lowest",
        "highest",
        "stdev",
        *[f"criterion: {c.name}" for c in results.criteria],
        "advance",
        "hold",
        "reject",
        "decision",
        "decision_note",
    ]


def summary_rows(
    results: ScreeningResults,
    *,
    candidate_name: Callable[[CandidateResult], str],
    candidate_email: Callable[[CandidateResult], str],
) -> list[list[Any]]:
    """One row per candidate, best average first (unscored candidates last, without a rank)."""
    rows: list[list[Any]] = []
    for rank, candidate in ranked(results.candidates, lambda c: c.overall.mean):
        overall = candidate.overall
        by_criterion = [
            _figure(candidate.criteria[c.id].mean) if c.id in candidate.criteria else None
            for c in results.criteria
        ]
        counts = candidate.recommendations
        rows.append(
            [
                rank,
                candidate.number,
                candidate_name(candidate),
                candidate_email(candidate),
                candidate.invited_at,
                candidate.completed_at,
                len(candidate.reviewers),
                _figure(overall.mean),
                _figure(overall.minimum),
                _figure(overall.maximum),
                _figure(overall.stdev),
                *by_criterion,
                *(sum(n for r, n in counts.items() if _value(r) == k) for k in _OUTCOMES),
                _value(candidate.decision),
                candidate.decision_note,
            ]
        )
    return rows


_OUTCOMES = ("advance", "hold", "reject")

ANSWERS_HEADER = [
    "candidate_number",
    "candidate",
    "email",
    "question_number",
    "question",
    "duration_seconds",
    "transcript_language",
    "transcript",
]


def answers_rows(
    results: ScreeningResults,
    *,
    candidate_name: Callable[[CandidateResult], str],
    candidate_email: Callable[[CandidateResult], str],
    transcripts: Mapping[int, Any],
) -> list[list[Any]]:
    """One row per candidate × answer; ``transcripts`` maps a take id to something with
    ``ready``, ``language`` and ``text`` (an answer without a ready one has an empty cell)."""
    rows: list[list[Any]] = []
    for candidate in sorted(results.candidates, key=lambda c: c.number):
        for response in candidate.responses:
            text = transcripts.get(response.take_id)
            ready = text is not None and text.ready
            rows.append(
                [
                    candidate.number,
                    candidate_name(candidate),
                    candidate_email(candidate),
                    response.number,
                    response.prompt,
                    _figure(response.duration_ms / 1000 if response.duration_ms else None, 1),
                    text.language if ready else None,
                    text.text if ready else None,
                ]
            )
    return rows


def bundle(files: Mapping[str, bytes], *, when: datetime | None = None) -> bytes:
    """Several files in one ZIP (deflated), with a fixed timestamp so equal input gives equal
    bytes."""
    stamp = (when or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
