"""Score aggregation against hand-computed tables."""

from __future__ import annotations

import math

import krippendorff
import pytest

from interview.reports.scoring import (
    agreement_reading,
    candidate_summary,
    criterion_means,
    krippendorff_alpha_interval,
    spread,
    weighted_score,
)

WEIGHTS = {1: 2.0, 2: 1.0}  # empathy counts twice as much as clarity


def test_weighted_score_by_hand():
    # (2*4 + 1*1) / 3 = 3.0
    assert weighted_score({1: 4, 2: 1}, WEIGHTS) == 3.0
    # (2*5 + 1*2) / 3 = 4.0
    assert weighted_score({1: 5, 2: 2}, WEIGHTS) == 4.0


def test_missing_scores_are_left_out_not_zero():
    """A criterion nobody scored must not drag the result down as if it were 0."""
    assert weighted_score({1: 4, 2: None}, WEIGHTS) == 4.0
    assert weighted_score({2: 3}, WEIGHTS) == 3.0
    assert weighted_score({1: None, 2: None}, WEIGHTS) is None
    assert weighted_score({}, WEIGHTS) is None


def test_spread_by_hand():
    s = spread([2, 4, 4, 4, 5, 5, 7, 9, None])
    assert (s.count, s.mean, s.minimum, s.maximum) == (8, 5.0, 2.0, 9.0)
    assert s.stdev == 2.0  # the textbook population-SD example
    assert spread([None, None]).mean is None


def test_candidate_summary_by_hand():
    """Two reviewers, two responses; reviewer 11 skipped one criterion of response 2."""
    per_reviewer = {
        10: {100: {1: 4, 2: 1}, 200: {1: 5, 2: 2}},  # 3.0 and 4.0
        11: {100: {1: 2, 2: 2}, 200: {1: 3, 2: None}},  # 2.0 and 3.0
    }
    overall, by_reviewer = candidate_summary(per_reviewer, WEIGHTS)
    assert by_reviewer == {10: 3.5, 11: 2.5}
    assert overall.mean == 3.0  # (3 + 4 + 2 + 3) / 4
    assert (overall.minimum, overall.maximum) == (2.0, 4.0)
    assert overall.stdev == pytest.approx(math.sqrt(0.5))  # deviations 0, 1, -1, 0
    means = criterion_means(per_reviewer)
    assert means[1].mean == 3.5 and means[2].mean == pytest.approx(5 / 3)
    assert means[2].count == 3


def test_reviewer_without_scores_counts_as_missing():
    overall, by_reviewer = candidate_summary({10: {100: {1: 4, 2: 4}}, 11: {}}, WEIGHTS)
    assert by_reviewer == {10: 4.0, 11: None}
    assert overall.mean == 4.0 and overall.count == 1


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders x 12 units with
# missing values; published alpha: interval 0.849, nominal 0.743.
CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_alpha_matches_the_published_example():
    units = list(zip(*CODERS, strict=True))
    assert krippendorff_alpha_interval(units) == pytest.approx(0.849, abs=5e-4)


def test_alpha_matches_an_independent_implementation_on_score_tables():
    """Cross-check with the `krippendorff` package on 1–5 rubric tables with gaps."""
    tables = [
        [[5, 4, 3, 2, 1, 3], [4, 4, 3, 1, 1, None], [5, 5, None, 2, 2, 3]],
        [[1, 5, 1, 5, 3], [5, 1, 5, 1, 3]],  # opposite views
        [[3, 3, 4, 4, 2, 2, 5], [3, 4, 4, 4, 2, 1, 5]],
    ]
    for coders in tables:
        units = list(zip(*coders, strict=True))
        nan_table = [[math.nan if v is None else v for v in row] for row in coders]
        expected = krippendorff.alpha(reliability_data=nan_table, level_of_measurement="interval")
        assert krippendorff_alpha_interval(units) == pytest.approx(expected, abs=1e-9)


def test_alpha_edge_cases():
    assert krippendorff_alpha_interval([]) is None
    assert krippendorff_alpha_interval([[3, None], [None, 4]]) is None  # nothing overlaps
    assert krippendorff_alpha_interval([[3, 3], [3, 3]]) is None  # no variation at all
    assert krippendorff_alpha_interval([[1, 1], [5, 5], [3, 3]]) == 1.0


@pytest.mark.parametrize(
    ("alpha", "words"),
    [(None, "Not enough"), (0.9, "largely agree"), (0.7, "somewhat"), (0.2, "disagree")],
)
def test_agreement_reading(alpha, words):
    assert words in agreement_reading(alpha)
