"""The stratified estimate of a share with problems: checked by hand and by simulation."""

from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from supervision.inspection.estimates import Cell, stratified_share


def test_the_estimate_and_its_variance_match_a_hand_computation() -> None:
    # Two strata: N = 1000 and 500, n = 50 and 20, problems 5 and 6.
    e = stratified_share([Cell(1000, 50, 5), Cell(500, 20, 6)])
    w1, w2 = Fraction(2, 3), Fraction(1, 3)
    p1, p2 = Fraction(5, 50), Fraction(6, 20)
    share = w1 * p1 + w2 * p2  # 1/6
    var = (
        w1**2 * (1 - Fraction(50, 1000)) * p1 * (1 - p1) / 49
        + w2**2 * (1 - Fraction(20, 500)) * p2 * (1 - p2) / 19
    )
    assert e.share == pytest.approx(float(share), abs=1e-12)
    assert e.std_error**2 == pytest.approx(float(var), rel=1e-12)
    # Korn–Graubard: n* = p(1-p)/v, times (t_{n-1}/t_{n-H})², then Clopper–Pearson on n*.
    n_eff = float(share * (1 - share) / var)
    n_eff *= (stats.t.ppf(0.025, 69) / stats.t.ppf(0.025, 68)) ** 2
    assert e.effective_n == pytest.approx(n_eff, rel=1e-12)
    x = n_eff * float(share)
    assert e.low == pytest.approx(stats.beta.ppf(0.025, x, n_eff - x + 1), rel=1e-12)
    assert e.high == pytest.approx(stats.beta.ppf(0.975, x + 1, n_eff - x), rel=1e-12)
    assert 0.088 < e.low < 0.089 and 0.273 < e.high < 0.274
    assert (e.sampled, e.problems, e.population) == (70, 11, 1500)


def test_no_problem_found_gives_an_interval_from_zero() -> None:
    e = stratified_share([Cell(400, 20, 0), Cell(100, 10, 0)])
    assert e.share == 0 and e.low == 0
    # Clopper–Pearson on the 30 records: the upper bound is 1 - 0.025^(1/30).
    assert e.high == pytest.approx(1 - 0.025 ** (1 / 30), rel=1e-9)


def test_too_small_samples_are_named_not_estimated() -> None:
    e = stratified_share([Cell(100, 5, 1)])
    assert not e.ok and e.share is None and "样本过少" in e.too_small
    e = stratified_share([Cell(100, 20, 1), Cell(50, 1, 0)])
    assert not e.ok and "不足 2 户" in e.too_small
    with pytest.raises(ValueError):
        stratified_share([Cell(10, 20, 1)])


def test_the_interval_covers_the_true_share_about_95_percent_of_the_time() -> None:
    """4,000 stratified samples (without replacement) of a known population."""
    rng = np.random.default_rng(20261207)
    sizes = np.array([2000, 800, 300])
    positives = np.array([100, 160, 120])  # true shares 5 %, 20 %, 40 %
    n = np.array([40, 40, 30])
    truth = positives.sum() / sizes.sum()
    covered = 0
    runs = 4000
    for _ in range(runs):
        k = rng.hypergeometric(positives, sizes - positives, n)
        e = stratified_share(
            [Cell(int(a), int(b), int(c)) for a, b, c in zip(sizes, n, k, strict=True)]
        )
        covered += e.low <= truth <= e.high
    coverage = covered / runs
    # Binomial noise at 4,000 runs is ±0.7 %; Korn–Graubard is, if anything, conservative.
    assert 0.93 <= coverage <= 0.975, coverage
