"""The benchmark's percentile and summary helpers."""

from __future__ import annotations

import math

import pytest

from benchmarks.stats import percentile, summary


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4, 5], 50, 3),
        ([5, 1, 4, 2, 3], 50, 3),  # order does not matter
        ([1, 2, 3, 4, 5], 0, 1),
        ([1, 2, 3, 4, 5], 100, 5),
        ([7.0], 95, 7.0),
        (list(range(1, 21)), 95, 19.05),  # numpy's default (linear) gives the same
        ([0, 10], 25, 2.5),
    ],
)
def test_percentile_interpolates_linearly_between_closest_ranks(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_rejects_out_of_range_q(q: float) -> None:
    with pytest.raises(ValueError, match="0..100"):
        percentile([1, 2], q)


def test_summary_reports_count_percentiles_and_spread() -> None:
    assert summary([1, 2, 3, 4, 10]) == {"n": 5, "p50": 3, "p95": 8.8, "min": 1, "max": 10, "mean": 4}


def test_summary_rounds() -> None:
    assert summary([1 / 3], digits=3)["p50"] == 0.333


def test_summary_of_nothing_has_only_a_count() -> None:
    assert summary([]) == {"n": 0}
