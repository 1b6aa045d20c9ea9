"""The PDFs say what the scoring functions compute: figures read back from the PDF's text."""

from __future__ import annotations

import re
import subprocess

import pytest

from interview.extensions import db
from interview.models import PageSize, Role
from interview.recruiter import services as recruiter_services
from interview.reports import documents, pdf, scoring

from .. import factories
from .conftest import VALUES, WEIGHTS, jpeg, pdf_text, pdf_tool


def _render(document, page_size: str = "A4") -> bytes:
    return pdf.render_pdf(
        document.html, stylesheet=documents.stylesheet_text(), page_size=page_size
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


def _row(text: str, first: str) -> list[str]:
    """The whitespace-separated cells of the first line that starts with ``first``."""
    for line in text.splitlines():
        if " ".join(line.split()).startswith(first):
            return line.split()
    raise AssertionError(f"no line starts with {first!r}")


def _per_reviewer(name: str) -> dict[int, dict[int, dict[int, int]]]:
    return {
        r: {a: dict(enumerate(answer)) for a, answer in enumerate(answers)}
        for r, answers in enumerate(VALUES[name])
    }


WEIGHT_OF = dict(enumerate(WEIGHTS))


def _words_inside_the_page(data: bytes, tmp_path) -> None:
    """No word of the PDF's text runs past the right edge of its page (nothing overflows)."""
    path = tmp_path / "bbox.pdf"
    path.write_bytes(data)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    for page in re.finditer(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', html, re.S):
        width = float(page.group(1))
        for x_max, word in re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)<', page.group(2)):
            assert float(x_max) <= width - 20, (word, x_max, width)  # inside the 14 mm margin


def test_candidate_pdf_figures_match_the_scoring_functions(app, scored, tmp_path):
    """Does the candidate PDF show the overall score, criterion figures, each reviewer's
    weighted answer scores and the timestamped comments exactly as scoring computes them?"""
    ada = scored.candidates["Ada Lovelace"]
    data = _render(documents.candidate_document(ada))
    text = pdf_text(data, tmp_path)
    flat = _flat(text)

    per_reviewer = _per_reviewer("Ada Lovelace")
    overall, by_reviewer = scoring.candidate_summary(per_reviewer, WEIGHT_OF)
    assert "Ada Lovelace" in text and "ada@example.com" in text
    assert "Northwind" in text and "Support Engineer" in text
    assert (
        f"{overall.mean:.2f} range {overall.minimum:.2f}–{overall.maximum:.2f}, "
        f"sd {overall.stdev:.2f}, 6 answer scores" in flat
    )
    for index, name in enumerate(["Clarity", "Empathy", "Structure"]):
        spread = scoring.criterion_means(per_reviewer)[index]
        assert _row(text, name)[1:] == [
            f"{WEIGHTS[index]:g}",
            f"{spread.mean:.2f}",
            f"{spread.minimum:.0f}.00",
            f"{spread.maximum:.0f}.00",
            f"{spread.stdev:.2f}",
            "6",
        ]
    assert _row(text, "Overall (weighted)")[2:] == [
        f"{overall.mean:.2f}",
        f"{overall.minimum:.2f}",
        f"{overall.maximum:.2f}",
        f"{overall.stdev:.2f}",
        "6",
    ]
    # Blind review (the default): reviewers by number, numbered by account; the recruiter's
    # account is older than the reviewers', so the recruiter (values[2]) is Reviewer 1.
    order = {2: "Reviewer 1", 0: "Reviewer 2", 1: "Reviewer 3"}
    for reviewer, label in order.items():
        assert f"{label} ADVANCE {by_reviewer[reviewer]:.2f}" in flat
        for answer, scores in enumerate(VALUES["Ada Lovelace"][reviewer]):
            weighted = scoring.weighted_score(dict(enumerate(scores)), WEIGHT_OF)
            assert f"{label} {' '.join(map(str, scores))} {weighted:.2f}" in flat, answer
    for user in scored.reviewers:
        assert user.name not in text
    assert "1:05 Reviewer 2 Clear example" in flat
    assert "0:03 Reviewer 3 =1+2 formula?" in flat
    assert "ADVANCE by Admin of Northwind" in flat and "Invite to onsite" in flat
    assert "Question 1" in text and "Tell us about yourself" in text and "Why this role?" in text
    assert flat.count("Answer length 0:42") == 2
    images = pdf_tool("pdfimages", data, tmp_path, "-list").splitlines()[2:]
    assert len(images) == 2, images  # one poster frame per answer
    assert "Page 1 of" in text
    _words_inside_the_page(data, tmp_path)


def test_anonymised_screening_prints_the_candidate_number_only(app, scored, tmp_path):
    """With hidden names, does the file carry neither the name nor the email, even in its
    metadata?"""
    screening = scored.org.screening
    screening.anonymize_candidates = True
    db.session.commit()
    ada = scored.candidates["Ada Lovelace"]
    document = documents.candidate_document(ada)
    data = _render(document)
    text = pdf_text(data, tmp_path) + pdf_tool("pdfinfo", data, tmp_path)
    number = documents.services.candidate_number(ada)
    assert f"Candidate {number}" in text
    assert "Ada" not in text and "Lovelace" not in text and "ada@example.com" not in text
    assert "Ada" not in document.file_stem


def test_open_review_prints_reviewer_names(app, scored, tmp_path):
    screening = scored.org.screening
    screening.blind_review = False
    db.session.commit()
    text = _flat(
        pdf_text(_render(documents.candidate_document(scored.candidates["Ada Lovelace"])), tmp_path)
    )
    assert "Second Reviewer ADVANCE" in text
    assert "Reviewer 1" not in text


def test_screening_pdf_ranks_and_measures_agreement(app, scored, tmp_path):
    """Ranking, spread, distributions, alpha and the funnel as the scoring functions and the
    screening page compute them."""
    screening = scored.org.screening
    data = _render(documents.screening_document(screening, page_size=PageSize.LETTER), "Letter")
    text = pdf_text(data, tmp_path)
    flat = _flat(text)

    overall = {
        name: scoring.candidate_summary(_per_reviewer(name), WEIGHT_OF)[0] for name in VALUES
    }
    ada, brian = overall["Ada Lovelace"], overall["Brian Kernighan"]
    assert ada.mean > brian.mean
    for rank, name, spread in ((1, "Ada Lovelace", ada), (2, "Brian Kernighan", brian)):
        means = scoring.criterion_means(_per_reviewer(name))
        assert _row(text, f"{rank} {name}")[3:10] == [
            f"#{documents.services.candidate_number(scored.candidates[name])}",
            "3",
            f"{spread.mean:.2f}",
            f"{spread.minimum:.2f}–{spread.maximum:.2f}",
            *(f"{means[c].mean:.2f}" for c in range(3)),
        ]
    assert f"sd {ada.stdev:.2f}" in flat and f"sd {brian.stdev:.2f}" in flat
    assert "— Robin Reviewed" in flat  # completed, not reviewed: listed last, unranked
    assert "3 ADVANCE" in flat and "1 REJECT" in flat and "1 HOLD" in flat

    units = [
        [VALUES[name][r][a][c] for r in range(3)]
        for name in VALUES
        for a in range(2)
        for c in range(3)
    ]
    alpha = scoring.krippendorff_alpha_interval(units)
    raw = _flat(pdf_text(data, tmp_path, layout=False))  # reading order, block by block
    assert f"{alpha:.2f} KRIPPENDORFF'S ALPHA" in raw
    assert scoring.agreement_reading(alpha) in raw
    assert "over 12 answer × criterion scores" in raw

    for index, name in enumerate(["Clarity", "Empathy", "Structure"]):
        values = [VALUES[n][r][a][index] for n in VALUES for r in range(3) for a in range(2)]
        counts = [values.count(level) for level in range(1, 6)]
        spread = scoring.spread(values)
        assert _row(text, f"C{index + 1} {name} {WEIGHTS[index]:g} ")[3:] == [
            f"{spread.mean:.2f}",
            f"{spread.stdev:.2f}",
            *map(str, counts),
            "12",
        ]

    funnel = recruiter_services.funnel(screening)
    assert documents.funnel_counts(screening) == funnel
    assert re.search(
        r"{invited} {opened} {started} {completed} {reviewed} INVITED OPENED STARTED".format(
            **funnel
        ),
        flat,
    )
    assert "612 x 792 pts" in pdf_tool("pdfinfo", data, tmp_path)  # Letter, as asked
    _words_inside_the_page(data, tmp_path)


@pytest.mark.slow
def test_sixty_candidates_paginate_with_repeated_table_headers(app, org, tmp_path):
    """A long ranking: several pages, the table header on each, every candidate once, long
    names wrapped inside the page."""
    screening = org.screening
    reviewer = org.users[Role.REVIEWER]
    long_name = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft " * 2
    for i in range(60):
        name = f"{long_name}{i}" if i % 10 == 0 else f"Candidate Person {i:02d}"
        inv = factories.completed_candidate(screening, name, f"p{i}@example.com", poster=None)
        factories.scored_review(inv, reviewer, [[1 + i % 5]], "hold")
    db.session.commit()
    data = _render(documents.screening_document(screening))
    pages = pdf_text(data, tmp_path).split("\f")
    ranking_pages = [p for p in pages if "Candidate Person" in p]
    assert len(ranking_pages) >= 2
    for page in ranking_pages:
        assert re.search(r"RANK\s+CANDIDATE\s+REVIEWS\s+SCORE", page), page[:400]
    everything = _flat(" ".join(pages))
    for i in range(60):
        if i % 10:
            assert everything.count(f"Candidate Person {i:02d}") == 1
    _words_inside_the_page(data, tmp_path)


def test_a_poster_that_is_not_a_picture_is_left_out_not_broken(app, scored, tmp_path):
    """A corrupt poster in storage: does the report say so instead of failing?"""
    inv = factories.completed_candidate(
        scored.org.screening, "Corrupt Poster", "c@example.com", poster=b"\xff\xd8 not a jpeg"
    )
    factories.scored_review(inv, scored.reviewers[0], [[3, 3, 3], [3, 3, 3]], "hold")
    db.session.commit()
    data = _render(documents.candidate_document(inv))
    assert _flat(pdf_text(data, tmp_path)).count("no picture available") == 2
    assert pdf_tool("pdfimages", data, tmp_path, "-list").splitlines()[2:] == []
    assert jpeg()  # the good fixture poster is a real JPEG (sanity)


def test_reports_are_tagged_pdf_for_screen_readers(app, scored, tmp_path):
    """Is each report a tagged PDF (PDF/UA-1) whose structure tree holds its headings, tables
    and text in reading order, with the document's title and language?"""
    for document in (
        documents.candidate_document(scored.candidates["Ada Lovelace"]),
        documents.screening_document(scored.org.screening),
    ):
        data = _render(document)
        info = pdf_tool("pdfinfo", data, tmp_path)
        assert "Tagged:          yes" in info
        assert "PDF version:     1.7" in info
        structure = pdf_tool("pdfinfo", data, tmp_path, "-struct-text")
        assert "H1 (block)" in structure and "Table (block)" in structure
        assert "TH" in structure and "TD" in structure
        assert scored.org.screening.title in structure
