"""CSV exports: long and summary files round-trip through the csv module, and cells that a
spreadsheet would run as formulas are defused."""

from __future__ import annotations

import csv as stdlib_csv
import io
import zipfile

import pytest

from interview.extensions import db
from interview.models import Role
from interview.reports import csv, reporting, scoring

from .. import factories
from .conftest import VALUES, WEIGHTS


def _read(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    return list(stdlib_csv.DictReader(io.StringIO(text, newline="")))


def _files(screening) -> dict[str, list[dict[str, str]]]:
    archive = zipfile.ZipFile(io.BytesIO(reporting.csv_bundle(screening)))
    return {name.rsplit("-", 1)[-1]: _read(archive.read(name)) for name in archive.namelist()}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-3, -3),  # numbers are numbers
        (2.5, 2.5),
        (None, ""),
    ],
)
def test_cells_that_start_a_formula_are_escaped(value, written):
    assert csv.safe_cell(value) == written


def test_hostile_text_round_trips_as_text():
    """Commas, quotes, newlines, accents and formulas: does each cell read back as written?"""
    cells = ['Zoë "Z" Ångström, PhD', "line one\nline two", '=HYPERLINK("http://x")', "東京"]
    (row,) = _read(csv.to_csv(["a", "b", "c", "d"], [cells])) or [None]
    assert [row["a"], row["b"], row["c"], row["d"]] == [
        cells[0],
        cells[1],
        "'" + cells[2],
        cells[3],
    ]


def test_long_file_has_one_row_per_candidate_answer_criterion_reviewer(app, scored):
    """Does scores.csv hold every score given, and only those, with the right labels?"""
    screening = scored.org.screening
    rows = _files(screening)["scores.csv"]
    assert list(rows[0]) == csv.SCORES_HEADER
    # 2 scored candidates × 2 answers × 3 criteria × 3 reviewers (Robin has no review: no rows)
    assert len(rows) == 2 * 2 * 3 * 3
    labels = {2: "Reviewer 1", 0: "Reviewer 2", 1: "Reviewer 3"}  # blind: numbered by account
    for name, per_reviewer in VALUES.items():
        for r, answers in enumerate(per_reviewer):
            for a, scores in enumerate(answers):
                for c, value in enumerate(scores):
                    (row,) = [
                        x
                        for x in rows
                        if x["candidate"] == name
                        and x["reviewer"] == labels[r]
                        and x["question_number"] == str(a + 1)
                        and x["criterion_weight"] == str(WEIGHTS[c])
                    ]
                    assert row["score"] == str(value)
                    weighted = scoring.weighted_score(
                        dict(enumerate(scores)), dict(enumerate(WEIGHTS))
                    )
                    assert float(row["reviewer_answer_score"]) == pytest.approx(weighted, abs=1e-3)
    ada = [x for x in rows if x["candidate"] == "Ada Lovelace"]
    assert {x["email"] for x in ada} == {"ada@example.com"}
    assert {x["decision"] for x in ada} == {"advance"}
    assert {x["reviewer_recommendation"] for x in rows if x["candidate"] == "Brian Kernighan"} == {
        "reject",
        "hold",
        "advance",
    }


def test_summary_ranks_candidates_with_their_figures(app, scored):
    screening = scored.org.screening
    rows = _files(screening)["summary.csv"]
    assert [r["candidate"] for r in rows] == ["Ada Lovelace", "Brian Kernighan", "Robin Reviewed"]
    assert [r["rank"] for r in rows] == ["1", "2", ""]
    per = {
        r: {a: dict(enumerate(s)) for a, s in enumerate(answers)}
        for r, answers in enumerate(VALUES["Ada Lovelace"])
    }
    overall, _ = scoring.candidate_summary(per, dict(enumerate(WEIGHTS)))
    ada = rows[0]
    assert float(ada["average"]) == pytest.approx(overall.mean, abs=1e-3)
    assert float(ada["stdev"]) == pytest.approx(overall.stdev, abs=1e-3)
    assert float(ada["lowest"]) == pytest.approx(overall.minimum, abs=1e-3)
    assert float(ada["criterion: Clarity"]) == pytest.approx(
        scoring.criterion_means(per)[0].mean, abs=1e-3
    )
    assert (ada["advance"], ada["hold"], ada["reject"], ada["reviews"]) == ("3", "0", "0", "3")
    assert ada["decision"] == "advance" and ada["decision_note"] == "Invite to onsite"
    assert ada["completed_at"].endswith("Z") and "T" in ada["completed_at"]


def test_formula_names_and_comments_are_defused_in_the_export(app, scored):
    """A candidate called '=cmd|...' and a criterion called '@SUM': harmless text in the file."""
    screening = scored.org.screening
    inv = factories.completed_candidate(screening, "=cmd|' /C calc'!A0", "x@example.com")
    screening.rubric.criteria[1].name = "@SUM(1+1)"
    factories.scored_review(inv, scored.reviewers[0], [[1, 2, 3], [3, 2, 1]], "hold")
    db.session.commit()
    files = _files(screening)
    long_rows = [r for r in files["scores.csv"] if r["candidate"].startswith("'=cmd")]
    assert long_rows and {r["candidate"] for r in long_rows} == {"'=cmd|' /C calc'!A0"}
    assert "'@SUM(1+1)" in {r["criterion"] for r in long_rows}
    assert "criterion: @SUM(1+1)" in files["summary.csv"][0]  # not at a cell's start: as is


def test_anonymised_export_has_numbers_not_names(app, scored):
    screening = scored.org.screening
    screening.anonymize_candidates = True
    db.session.commit()
    files = _files(screening)
    for rows in files.values():
        for row in rows:
            assert row["candidate"].startswith("Candidate ") and row["email"] == ""
    assert scored.org.users[Role.REVIEWER].name not in str(files)
