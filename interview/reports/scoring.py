"""Score aggregation: pure functions over plain numbers (no database, no request).

Conventions: scores are on the 1–5 scale; a missing score is ``None`` and is left out, never
counted as zero; weights need not sum to one (they are normalised over the criteria actually
scored).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Score = int | float | None


def weighted_score(scores: Mapping[int, Score], weights: Mapping[int, float]) -> float | None:
    """One reviewer's score for one response: the weighted mean over the criteria scored.

    ``scores`` and ``weights`` are keyed by criterion. Criteria without a score do not count
    (their weight is left out); with nothing scored the result is ``None``.
    """
    total = weight_sum = 0.0
    for criterion, value in scores.items():
        if value is None:
            continue
        weight = weights[criterion]
        total += weight * value
        weight_sum += weight
    return total / weight_sum if weight_sum else None


@dataclass(frozen=True)
class Spread:
    """Where a set of scores lies: mean, lowest, highest, (population) standard deviation."""

    count: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    stdev: float | None


def spread(values: Iterable[Score]) -> Spread:
    present = [float(v) for v in values if v is not None]
    if not present:
        return Spread(0, None, None, None, None)
    mean = sum(present) / len(present)
    variance = sum((v - mean) ** 2 for v in present) / len(present)
    return Spread(len(present), mean, min(present), max(present), math.sqrt(variance))


def candidate_summary(
    per_reviewer: Mapping[int, Mapping[int, Mapping[int, Score]]], weights: Mapping[int, float]
) -> tuple[Spread, dict[int, float | None]]:
    """A candidate's overall score.

    ``per_reviewer[reviewer][response][criterion] = score``. Each reviewer's response scores are
    weighted means; the candidate's figure is the mean over every (reviewer, response) pair that
    has a score, with its spread. Also returns each reviewer's own mean over responses, so
    disagreement between reviewers is visible.
    """
    pairs: list[float] = []
    by_reviewer: dict[int, float | None] = {}
    for reviewer, responses in per_reviewer.items():
        mine = [weighted_score(scores, weights) for scores in responses.values()]
        mine_present = [m for m in mine if m is not None]
        by_reviewer[reviewer] = sum(mine_present) / len(mine_present) if mine_present else None
        pairs.extend(mine_present)
    return spread(pairs), by_reviewer


def criterion_means(
    per_reviewer: Mapping[int, Mapping[int, Mapping[int, Score]]],
) -> dict[int, Spread]:
    """For each criterion, the spread of every score given for it (any reviewer, any response)."""
    collected: dict[int, list[Score]] = {}
    for responses in per_reviewer.values():
        for scores in responses.values():
            for criterion, value in scores.items():
                collected.setdefault(criterion, []).append(value)
    return {criterion: spread(values) for criterion, values in collected.items()}


def krippendorff_alpha_interval(units: Sequence[Sequence[Score]]) -> float | None:
    """Krippendorff's alpha for interval data.

    ``units`` holds, for each rated item (e.g. a response × criterion), the scores the
    reviewers gave (``None`` where a reviewer gave none). Items with fewer than two scores
    carry no information about agreement and are skipped. Returns ``None`` when there is
    nothing to compare, or when every score is the same (no variation to disagree about).
    """
    pairable = [[float(v) for v in unit if v is not None] for unit in units]
    pairable = [unit for unit in pairable if len(unit) >= 2]
    n = sum(len(unit) for unit in pairable)
    if n < 2:
        return None
    # Sums of squared differences over all pairs, in linear time:
    # sum_{i<j} (a_i - a_j)^2 = m * sum(a^2) - (sum a)^2.
    observed = 0.0
    for unit in pairable:
        m = len(unit)
        observed += _pairwise_squares(unit) * 2 / (m - 1)
    observed /= n
    values = [v for unit in pairable for v in unit]
    expected = _pairwise_squares(values) * 2 / (n * (n - 1))
    if expected <= 1e-12:
        return None
    return 1.0 - observed / expected


def _pairwise_squares(values: Sequence[float]) -> float:
    total = sum(values)
    return max(len(values) * sum(v * v for v in values) - total * total, 0.0)


def agreement_reading(alpha: float | None) -> str:
    """A plain-language reading of an agreement coefficient (Krippendorff's thresholds)."""
    if alpha is None:
        return "Not enough overlapping scores yet to measure agreement."
    if alpha >= 0.8:
        return "Reviewers largely agree."
    if alpha >= 0.667:
        return "Reviewers agree somewhat; compare notes on the answers where scores differ."
    return "Reviewers disagree; consider calibrating on the rubric's level descriptions."
